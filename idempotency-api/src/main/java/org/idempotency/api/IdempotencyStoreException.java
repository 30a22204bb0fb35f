package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * The store could not be reached or failed (connection lost, timeout, server error). Wraps the driver's
 * exception as the cause. By default the work is not run when acquiring fails (fail closed). Corresponds to
 * HTTP 503 Service Unavailable.
 */
public final class IdempotencyStoreException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; the key and the cause are appended to the message.
     *
     * @param message the store operation that failed
     * @param key the stored key concerned, or {@code null}
     * @param cause the driver's exception, or {@code null}
     */
    public IdempotencyStoreException(String message, @Nullable String key, @Nullable Throwable cause) {
        super(message + (key == null ? "" : " (key '" + safeKey(key) + "')")
                + (cause == null ? "" : ": " + cause), key, cause);
    }

    @Override
    public int httpStatus() {
        return 503;
    }
}
