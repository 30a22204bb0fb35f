package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * The store could not be reached or failed (connection lost, timeout, server error). Wraps the driver's
 * exception as the cause. By default the work is not run when acquiring fails (fail closed). Corresponds to
 * HTTP 503 Service Unavailable.
 */
public final class IdempotencyStoreException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    public IdempotencyStoreException(String message, @Nullable String key, @Nullable Throwable cause) {
        super(message + (key == null ? "" : " (key '" + safeKey(key) + "')")
                + (cause == null ? "" : ": " + cause), key, cause);
    }

    @Override
    public int httpStatus() {
        return 503;
    }
}
