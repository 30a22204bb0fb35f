package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * A recorded permanent failure: the error type (usually an exception class name) and message. Never a
 * serialized exception object: stored bytes are untrusted.
 *
 * @param type the error type, not blank, at most 255 characters
 * @param message the error message, at most 2,000 characters, or {@code null}
 */
public record StoredFailure(String type, @Nullable String message) {

    /** The longest type kept. */
    public static final int MAX_TYPE_LENGTH = 255;
    /** The longest message kept; longer messages are cut by {@link #of(Throwable)}. */
    public static final int MAX_MESSAGE_LENGTH = 2000;

    /**
     * Checks the lengths.
     *
     * @param type the error type, not blank, at most 255 characters
     * @param message the error message, at most 2,000 characters, or {@code null}
     * @throws IllegalArgumentException if the type is blank or too long, or the message too long
     */
    public StoredFailure {
        if (type.isBlank() || type.length() > MAX_TYPE_LENGTH) {
            throw new IllegalArgumentException(
                    "failure type must be 1 to " + MAX_TYPE_LENGTH + " characters, was '" + type + "'");
        }
        if (message != null && message.length() > MAX_MESSAGE_LENGTH) {
            throw new IllegalArgumentException("failure message must be at most " + MAX_MESSAGE_LENGTH
                    + " characters, was " + message.length());
        }
    }

    /**
     * Records a throwable by its class name and (shortened) message.
     *
     * @param error the failure
     * @return its type and message, cut to the lengths kept
     */
    public static StoredFailure of(Throwable error) {
        String type = error.getClass().getName();
        if (type.length() > MAX_TYPE_LENGTH) {
            type = type.substring(type.length() - MAX_TYPE_LENGTH);
        }
        String message = error.getMessage();
        if (message != null && message.length() > MAX_MESSAGE_LENGTH) {
            message = message.substring(0, MAX_MESSAGE_LENGTH);
        }
        return new StoredFailure(type, message);
    }
}
