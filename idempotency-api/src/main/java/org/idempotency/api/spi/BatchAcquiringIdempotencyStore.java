package org.idempotency.api.spi;

import java.time.Duration;
import java.util.List;
import org.idempotency.api.IdempotencyStoreException;

/**
 * An optional ability: acquiring many keys in as few round trips as the backend allows (one pipeline, one
 * statement), for consumers that claim a whole poll of messages at once.
 */
public interface BatchAcquiringIdempotencyStore extends IdempotencyStore {

    /**
     * Acquires each key exactly as {@link #acquire} would, and returns the outcomes in request order: a fresh
     * record for a key with no visible record (also one released, or past its visibility), a takeover with a
     * larger token for an expired lease with a matching request hash, and the record unchanged otherwise. Each
     * key's outcome is atomic on its own; the batch as a whole is not a transaction. Keys must be distinct.
     *
     * @param requests the keys with their request hashes; distinct keys; may be empty
     * @param lease the lease of every record this batch creates or takes over
     * @return one outcome per request, in the same order
     * @throws IllegalArgumentException if a key appears twice
     * @throws IdempotencyStoreException if the store fails; some keys may then have been acquired, and
     *     their leases expire as if their owner had crashed
     */
    List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease);
}
