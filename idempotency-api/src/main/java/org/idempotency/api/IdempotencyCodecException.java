package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * A result could not be encoded, or a stored result could not be decoded into the declared type (for
 * example after an incompatible change of the result class). Corresponds to HTTP 500.
 */
public final class IdempotencyCodecException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    public IdempotencyCodecException(String message, @Nullable String key, @Nullable Throwable cause) {
        super(message + (key == null ? "" : " (key '" + safeKey(key) + "')")
                + (cause == null ? "" : ": " + cause.getMessage()), key, cause);
    }

    @Override
    public int httpStatus() {
        return 500;
    }
}
