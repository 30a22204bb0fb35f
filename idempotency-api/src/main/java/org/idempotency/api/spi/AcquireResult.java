package org.idempotency.api.spi;

import java.util.Objects;
import org.idempotency.api.IdempotencyRecord;

/**
 * The outcome of {@link IdempotencyStore#acquire}: either this caller now owns the key, or the record that
 * holds it is returned. Contention is a value, not an exception.
 */
public sealed interface AcquireResult permits AcquireResult.Acquired, AcquireResult.Existing {

    /**
     * The caller owns the key: a new in-progress record was created, or an expired lease with a matching
     * request hash was handed over ({@code takeover}). The caller must finish with complete, fail or
     * release, passing {@code fencingToken}.
     *
     * @param fencingToken the new token; larger than any token ever issued for this key by this store
     * @param takeover whether an expired lease of an earlier owner was taken over
     */
    record Acquired(long fencingToken, boolean takeover) implements AcquireResult {
        /**
         * Checks the token.
         *
         * @param fencingToken the new token; larger than any token ever issued for this key by this store
         * @param takeover whether an expired lease of an earlier owner was taken over
         * @throws IllegalArgumentException if {@code fencingToken} is not positive
         */
        public Acquired {
            if (fencingToken <= 0) {
                throw new IllegalArgumentException("fencing tokens are positive, was " + fencingToken);
            }
        }
    }

    /**
     * The key is held by a visible record that this caller may not take: completed, failed, in progress with
     * a live lease, or in progress with an expired lease but a different request hash. Nothing was changed.
     *
     * @param record the record as it is now
     */
    record Existing(IdempotencyRecord record) implements AcquireResult {
        /**
         * Checks that the record is present.
         *
         * @param record the record as it is now
         * @throws NullPointerException if {@code record} is null
         */
        public Existing {
            Objects.requireNonNull(record, "record");
        }
    }
}
