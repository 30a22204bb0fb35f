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
     * operations for long (in batches where the backend needs it).
     *
     * @return how many records were removed
     * @throws IdempotencyStoreException if the store fails
     */
    long purgeExpired();
}
