package org.idempotency.kafka;

import org.idempotency.api.IdempotencyException;
import org.jspecify.annotations.Nullable;

/**
 * A record's message key or request hash cannot be derived: the header carrying the message id is missing,
 * the key is not valid UTF-8 text or breaks the key rules, or the payload type cannot be hashed. Retrying
 * cannot help: {@link IdempotentConsumerLoop} stops the partition at the record or dead-letters it. The
 * message names the topic, partition and offset, never the payload.
 */
public final class RecordIdentityException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what cannot be derived, naming the record's coordinates
     * @param cause the underlying error, if any
     */
    public RecordIdentityException(String message, @Nullable Throwable cause) {
        super(message, null, cause);
    }

    /** A record that cannot be identified is bad input: 400. */
    @Override
    public int httpStatus() {
        return 400;
    }
}
