package org.idempotency.api;

/**
 * The work for this key completed, but its result was not kept (it exceeded the configured size limit, or
 * could not be encoded). The work is not run again, because its side effects already happened; the result
 * cannot be replayed. Corresponds to HTTP 409 Conflict.
 */
public final class IdempotencyResultNotKeptException extends IdempotencyException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param key the stored key whose result was not kept
     */
    public IdempotencyResultNotKeptException(String key) {
        super("The request with idempotency key '" + safeKey(key) + "' completed, but its result was not kept"
                + " (too large or not encodable), so it cannot be replayed; the work is not run again", key,
                null);
    }

    @Override
    public int httpStatus() {
        return 409;
    }
}
