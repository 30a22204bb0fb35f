package org.idempotency.api;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * What a completed record holds: the encoded result bytes, or {@code null} when the result was not kept
 * (too large, or not encodable), plus an optional status code (an HTTP status for HTTP adapters, 0 when
 * there is none).
 *
 * <p>The payload array is not copied, for speed with large results: neither the store nor the caller may
 * modify it after handing it over. {@link #toString()} never prints the payload.
 *
 * @param payload the encoded result; {@code null} if the result was not kept; may be empty
 * @param statusCode an application status code, 0 if none
 */
public record StoredResult(byte @Nullable [] payload, int statusCode) {

    private static final StoredResult NOT_KEPT = new StoredResult(null, 0);

    /**
     * Checks the status code.
     *
     * @param payload the encoded result; {@code null} if the result was not kept; may be empty
     * @param statusCode an application status code, 0 if none
     * @throws IllegalArgumentException if the status code is negative
     */
    public StoredResult {
        if (statusCode < 0) {
            throw new IllegalArgumentException("statusCode must be 0 (none) or positive, was " + statusCode);
        }
    }

    /**
     * A kept result with no status code.
     *
     * @param payload the encoded result, handed over (not copied)
     * @return the stored result
     */
    public static StoredResult of(byte[] payload) {
        return new StoredResult(payload, 0);
    }

    /**
     * The marker for a completed record whose result was not kept.
     *
     * @return a result without payload
     */
    public static StoredResult notKept() {
        return NOT_KEPT;
    }

    /**
     * Whether the payload was kept and can be replayed.
     *
     * @return {@code true} if there is a payload
     */
    public boolean kept() {
        return payload != null;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof StoredResult that
                && statusCode == that.statusCode
                && Arrays.equals(payload, that.payload);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(payload) + statusCode;
    }

    @Override
    public String toString() {
        return "StoredResult[" + (payload == null ? "not kept" : payload.length + " bytes")
                + (statusCode == 0 ? "" : ", status " + statusCode) + "]";
    }
}
