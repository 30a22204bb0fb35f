package org.idempotency.api.spi;

import java.util.Objects;
import org.idempotency.api.StoredResult;

/**
 * One completion in a {@link BatchCompletingIdempotencyStore#completeAll batch}: the key, the fencing token its
 * caller owns it by, and the result to keep.
 *
 * @param key the stored key
 * @param fencingToken the token returned when the key was acquired; positive
 * @param result the result to keep, possibly {@link StoredResult#notKept()}
 */
public record CompleteRequest(String key, long fencingToken, StoredResult result) {
    /**
     * Checks the key, the token and the result.
     *
     * @param key the stored key
     * @param fencingToken the token the caller owns the key by; positive
     * @param result the result to keep
     * @throws NullPointerException if {@code key} or {@code result} is null
     * @throws IllegalArgumentException if {@code fencingToken} is not positive
     */
    public CompleteRequest {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(result, "result");
        if (fencingToken <= 0) {
            throw new IllegalArgumentException("fencing tokens are positive, was " + fencingToken);
        }
    }
}
