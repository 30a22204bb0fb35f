package org.idempotency.api.spi;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One key to acquire in a {@link BatchAcquiringIdempotencyStore#acquireAll batch}.
 *
 * @param key the stored key
 * @param requestHash the caller's request hash, or {@code null} to skip the check
 */
public record AcquireRequest(String key, @Nullable String requestHash) {
    /**
     * Checks that the key is present.
     *
     * @param key the stored key
     * @param requestHash the caller's request hash, or {@code null} to skip the check
     * @throws NullPointerException if {@code key} is null
     */
    public AcquireRequest {
        Objects.requireNonNull(key, "key");
    }
}
