package org.idempotency.core;

import java.time.Duration;
import org.idempotency.api.StoredResult;

/**
 * Writes the completion of a record somewhere other than the engine's plain {@code store.complete}: inside
 * the caller's database transaction, for example, so the work's effects and the completion commit together.
 * Same contract as {@link org.idempotency.api.spi.IdempotencyStore#complete}.
 */
@FunctionalInterface
public interface CompletionWriter {

    /**
     * Completes the record if {@code fencingToken} still owns it.
     *
     * @param storedKey the key under which the store holds the record ({@code operation:key})
     * @param fencingToken the token the caller owns the record by
     * @param result the result to keep
     * @param retention how long the completed record stays visible; positive
     * @return {@code true} if completed; {@code false} if the token no longer owns the record
     */
    boolean complete(String storedKey, long fencingToken, StoredResult result, Duration retention);
}
