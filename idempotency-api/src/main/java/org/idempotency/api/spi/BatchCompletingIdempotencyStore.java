package org.idempotency.api.spi;

import java.time.Duration;
import java.util.List;
import org.idempotency.api.IdempotencyStoreException;

/**
 * An optional ability: completing many records in as few round trips as the backend allows (one pipeline, one
 * statement), for consumers that finish a whole poll of messages at once. The engine's completion batches
 * ({@code CompletionBatch} in the core) use it; without it they complete each record in turn.
 */
public interface BatchCompletingIdempotencyStore extends IdempotencyStore {

    /**
     * Completes each record exactly as {@link #complete} would, and returns the outcomes in request order: only
     * the token that owns a visible in-progress record completes it (also after its lease ended, as long as no one
     * took it over); a stale token, a finished record, a released record and a record past its visibility are
     * refused and left as they are. Each key's outcome is atomic on its own (fencing is checked per record); the
     * batch as a whole is not a transaction. Keys must be distinct.
     *
     * @param completions the keys, their owners' fencing tokens and the results to keep; distinct keys; may be
     *     empty
     * @param retention how long each completed record stays visible, from now; positive
     * @return one outcome per completion, in the same order: {@code true} if that record was completed,
     *     {@code false} if the token does not own an in-progress record of that key (nothing changed for it)
     * @throws IllegalArgumentException if a key appears twice
     * @throws IdempotencyStoreException if the store fails; some records may then have been completed, and the
     *     caller cannot tell which
     */
    List<Boolean> completeAll(List<CompleteRequest> completions, Duration retention);
}
