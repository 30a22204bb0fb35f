package org.idempotency.api.spi;

import java.time.Duration;
import java.util.List;
import org.idempotency.api.IdempotencyStoreException;

/**
 * An optional ability: renewing many leases in as few round trips as the backend allows (one pipeline, one
 * statement). The engine renews the leases of all its running executions with it, so a consumer that claimed a
 * whole poll of messages keeps every claim alive with one call per renewal round instead of one per message.
 */
public interface BatchExtendingIdempotencyStore extends IdempotencyStore {

    /**
     * Extends each lease exactly as {@link #extend} would, and returns the outcomes in request order: only the
     * token that owns a visible in-progress record renews it (also after its lease ended, as long as no one took
     * it over); a stale token, a finished record and a record past its visibility are refused and left as they
     * are. Each key's outcome is atomic on its own (a renewal racing a completion never undoes it); the batch as a
     * whole is not a transaction. Keys must be distinct.
     *
     * @param keys the keys with the fencing tokens their caller owns them by; distinct keys; may be empty
     * @param lease the new lease of every record renewed, from now
     * @return one outcome per key, in the same order: {@code true} if its lease was renewed, {@code false} if the
     *     token does not own an in-progress record of that key (nothing changed for that key)
     * @throws IllegalArgumentException if a key appears twice
     * @throws IdempotencyStoreException if the store fails; some leases may then have been renewed
     */
    List<Boolean> extendAll(List<OwnedKey> keys, Duration lease);
}
