package org.idempotency.api.spi;

import org.idempotency.api.IdempotencyStoreException;

/**
 * An optional ability, for administrators: removing a key's record whatever its state (in progress, completed
 * or failed), so that the next acquire of the key starts afresh and runs the work again. The removal is
 * conditional on the record's fencing token, read first with {@link #find}: a record that changed since (taken
 * over, released and re-created) is never removed by a forget meant for its predecessor.
 */
public interface ForgettingIdempotencyStore extends IdempotencyStore {

    /**
     * Removes the visible record of {@code key} if its fencing token is {@code fencingToken}, whatever its
     * status. Like a release, it does not reset the key's tokens: a key acquired again gets a larger token than
     * any it had, so a late owner of the forgotten record can no longer complete, fail, release or extend
     * anything. Atomic and one round trip, like every store call.
     *
     * @param key the stored key
     * @param fencingToken the token of the record to remove, as {@link #find} returned it
     * @return {@code true} if the record was removed; {@code false} if there is no visible record of the key or
     *     its token is another (nothing changed)
     * @throws IdempotencyStoreException if the store fails
     */
    boolean forget(String key, long fencingToken);
}
