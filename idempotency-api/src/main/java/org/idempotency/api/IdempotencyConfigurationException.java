package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * The library was configured wrongly: a missing or malformed setting, no store provider, an unknown or
 * ambiguous provider name, an unsafe codec. The message names the setting and what is accepted.
 * Corresponds to HTTP 500.
 */
public final class IdempotencyConfigurationException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the setting that is wrong and what is accepted
     */
    public IdempotencyConfigurationException(String message) {
        super(message, null, null);
    }

    /**
     * Creates the exception with the failure that revealed the problem.
     *
     * @param message the setting that is wrong and what is accepted
     * @param cause the underlying exception, or {@code null}
     */
    public IdempotencyConfigurationException(String message, @Nullable Throwable cause) {
        super(message, null, cause);
    }

    @Override
    public int httpStatus() {
        return 500;
    }
}
