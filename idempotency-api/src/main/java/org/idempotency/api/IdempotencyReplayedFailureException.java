package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * An earlier execution with this key failed permanently and the failure was recorded: it is replayed to
 * this caller instead of running the work again. Carries the stored error type and message (never a
 * deserialized exception object). Corresponds to HTTP 422 by default, as the request itself was rejected.
 */
public final class IdempotencyReplayedFailureException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /** The recorded error type. */
    private final String errorType;
    /** The recorded error message, or {@code null}. */
    private final @Nullable String errorMessage;

    /**
     * Creates the exception from the stored failure.
     *
     * @param key the stored key whose failure is replayed
     * @param failure the recorded failure
     */
    public IdempotencyReplayedFailureException(String key, StoredFailure failure) {
        super("The request with idempotency key '" + safeKey(key) + "' failed permanently earlier ("
                + failure.type() + (failure.message() == null ? "" : ": " + failure.message())
                + "); the failure is replayed, send a new key to try again", key, null);
        this.errorType = failure.type();
        this.errorMessage = failure.message();
    }

    /**
     * The recorded error type, usually the class name of the original exception.
     *
     * @return the error type
     */
    public String errorType() {
        return errorType;
    }

    /**
     * The recorded error message, if there was one.
     *
     * @return the message, or {@code null}
     */
    public @Nullable String errorMessage() {
        return errorMessage;
    }

    @Override
    public int httpStatus() {
        return 422;
    }
}
