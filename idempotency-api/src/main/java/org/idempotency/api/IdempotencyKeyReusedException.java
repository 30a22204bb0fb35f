package org.idempotency.api;

/**
 * The key was already used with a different request (its request hash differs from the stored one). The
 * work was not run. Corresponds to HTTP 422 Unprocessable Content: the client must use a new key for a new
 * request.
 */
public final class IdempotencyKeyReusedException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /** The state of the record that holds the key. */
    private final RecordStatus existingStatus;

    /**
     * Creates the exception.
     *
     * @param key the stored key that was reused
     * @param existingStatus the state of the record that holds it
     */
    public IdempotencyKeyReusedException(String key, RecordStatus existingStatus) {
        super("Idempotency key '" + safeKey(key) + "' was already used with a different request (the existing"
                + " record is " + existingStatus + "); send a new key for a new request", key, null);
        this.existingStatus = existingStatus;
    }

    /**
     * The state of the record that holds the key.
     *
     * @return in progress, completed or failed
     */
    public RecordStatus existingStatus() {
        return existingStatus;
    }

    @Override
    public int httpStatus() {
        return 422;
    }
}
