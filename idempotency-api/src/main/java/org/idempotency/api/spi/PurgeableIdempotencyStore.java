package org.idempotency.api.spi;

import org.idempotency.api.IdempotencyStoreException;

/**
 * An optional ability for stores without native expiry: physically removing records that are no longer
 * visible. Expired records are already invisible to every operation; purging bounds the memory or disk they
 * take. Stores with native expiry (Redis TTLs) do not implement this.
 */
public interface PurgeableIdempotencyStore extends IdempotencyStore {

    /**
     * Removes every record whose {@code expiresAt} has passed, by the store's clock, without blocking other
     * operations for long (in batches where the backend needs it). An in-progress record whose lease has ended
     * is kept through its takeover window, and purging does not reset the fencing tokens of the keys it removes:
     * a key acquired again gets a larger token than any it had.
     *
     * @return how many records were removed
     * @throws IdempotencyStoreException if the store fails
     */
    long purgeExpired();
}
