package org.idempotency.api;

/**
 * This execution no longer owns the key: its lease expired and another execution took the record over
 * (the fencing token changed), or the record is gone. Thrown where continuing would be unsafe, such as a
 * transactional completion that must roll back the caller's database work. Corresponds to HTTP 409.
 */
public final class IdempotencyLeaseLostException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /** The stale fencing token this execution held. */
    private final long fencingToken;

    /**
     * Creates the exception.
     *
     * @param key the stored key whose lease was lost
     * @param fencingToken the token this execution held, which is no longer current
     */
    public IdempotencyLeaseLostException(String key, long fencingToken) {
        super("The lease on idempotency key '" + safeKey(key) + "' was lost (fencing token " + fencingToken
                + " is no longer current): another execution took it over; this execution's result was not"
                + " stored", key, null);
        this.fencingToken = fencingToken;
    }

    /**
     * The stale fencing token this execution held.
     *
     * @return the token
     */
    public long fencingToken() {
        return fencingToken;
    }

    @Override
    public int httpStatus() {
        return 409;
    }
}
