package org.idempotency.api;

import java.time.Duration;

/**
 * Another execution holds a live lease on the key: the first request is still running. The work was not
 * run. Corresponds to HTTP 409 Conflict; {@link #retryAfter()} suggests when to try again.
 */
public final class IdempotencyInProgressException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /** The suggested delay before retrying. */
    private final Duration retryAfter;

    /**
     * Creates the exception.
     *
     * @param key the stored key that is in progress
     * @param retryAfter a suggested delay before retrying
     * @param waited how long this caller already waited for the result (zero when it did not wait)
     */
    public IdempotencyInProgressException(String key, Duration retryAfter, Duration waited) {
        super("A request with idempotency key '" + safeKey(key) + "' is still in progress"
                + (waited.toMillis() == 0 ? "" : " after waiting " + waited.toMillis() + " ms")
                + "; retry after " + Math.max(1, retryAfter.toSeconds()) + " s", key, null);
        this.retryAfter = retryAfter;
    }

    /**
     * A suggested delay before retrying. The engine gives the time left on the owner's lease as its own clock
     * sees it, clamped to between 1 s and one lease (1 s when the lease is shorter than that).
     *
     * @return the delay
     */
    public Duration retryAfter() {
        return retryAfter;
    }

    @Override
    public int httpStatus() {
        return 409;
    }
}
