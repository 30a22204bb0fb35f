package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * A result could not be encoded, or a stored result could not be decoded into the declared type (for
 * example after an incompatible change of the result class). Corresponds to HTTP 500.
 */
public final class IdempotencyCodecException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; the key and the cause's message are appended to the message.
     *
     * @param message what could not be encoded or decoded
     * @param key the stored key concerned, or {@code null}
     * @param cause the codec's exception, or {@code null}
     */
    public IdempotencyCodecException(String message, @Nullable String key, @Nullable Throwable cause) {
        super(message + (key == null ? "" : " (key '" + safeKey(key) + "')")
                + (cause == null ? "" : ": " + cause.getMessage()), key, cause);
    }

    @Override
    public int httpStatus() {
        return 500;
    }
}
