package org.idempotency.api.spi;

import java.util.Objects;

/**
 * A key together with the fencing token its caller owns it by, for the batch operations of the optional store
 * abilities ({@link BatchExtendingIdempotencyStore#extendAll}).
 *
 * @param key the stored key
 * @param fencingToken the token returned when the key was acquired; positive
 */
public record OwnedKey(String key, long fencingToken) {
    /**
     * Checks the key and the token.
     *
     * @param key the stored key
     * @param fencingToken the token returned when the key was acquired; positive
     * @throws NullPointerException if {@code key} is null
     * @throws IllegalArgumentException if {@code fencingToken} is not positive
     */
    public OwnedKey {
        Objects.requireNonNull(key, "key");
        if (fencingToken <= 0) {
            throw new IllegalArgumentException("fencing tokens are positive, was " + fencingToken);
        }
    }
}
