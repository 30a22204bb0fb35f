package org.idempotency.spring.boot.actuate;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.ForgetOutcome;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyKeys;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

/**
 * The {@code idempotency} Actuator endpoint: looks up the record of a key in an operation
 * ({@code GET /actuator/idempotency/{operation}/{key}}), and forgets the record of a key ({@code DELETE}), so that
 * the next request runs the work: a key stuck in progress, or, with an engine over a store that can forget
 * ({@link ForgettingIdempotencyStore}: the shipped stores can), a completed or failed one, through
 * {@link Idempotency#forget}, which also drops it from that engine's replay cache (other nodes' caches may replay
 * it until their entries' maximum age, which the answer states). The record's stored result is never
 * shown, only its size. Stored keys of the servlet filter and of controller methods are scoped: look them up as
 * stored (the scope's digest, {@code ':'} and the client's key).
 *
 * <p>Secured like every Actuator endpoint: it is exposed over HTTP only when listed in
 * {@code management.endpoints.web.exposure.include}, and its access is read-only by default, so forgetting a key
 * needs {@code management.endpoint.idempotency.access=unrestricted}. Forgetting the key of a live execution lets
 * another request run the same work beside it (the owner then stores nothing): use it for owners that are gone.
 *
 * <p>Thread-safe.
 */
@Endpoint(id = "idempotency", defaultAccess = Access.READ_ONLY)
public class IdempotencyEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyEndpoint.class);

    private final IdempotencyStore store;
    private final @Nullable Idempotency engine;

    /**
     * An endpoint over a store: it forgets only keys stuck in progress.
     *
     * @param store the store the application's engine runs over
     */
    public IdempotencyEndpoint(IdempotencyStore store) {
        this(store, null);
    }

    /**
     * An endpoint over a store and the application's engine: it forgets keys in any state when the store can.
     *
     * @param store the store the application's engine runs over
     * @param engine the application's engine, or {@code null} to forget only keys stuck in progress
     */
    public IdempotencyEndpoint(IdempotencyStore store, @Nullable Idempotency engine) {
        this.store = Objects.requireNonNull(store, "store must not be null");
        this.engine = engine;
    }

    /**
     * The record of a key.
     *
     * @param operation the operation name
     * @param key the key within the operation
     * @return the record, or {@code null} (answered 404) if there is none
     */
    @ReadOperation
    public @Nullable RecordView record(@Selector String operation, @Selector String key) {
        return find(operation, key).map(RecordView::of).orElse(null);
    }

    /**
     * Forgets the record of a key: through the engine when the store can forget (any state), otherwise only a key
     * stuck in progress, released with its own fencing token.
     *
     * @param operation the operation name
     * @param key the key within the operation
     * @return what was done
     */
    @DeleteOperation
    public ForgetResult forget(@Selector String operation, @Selector String key) {
        if (engine != null && store instanceof ForgettingIdempotencyStore) {
            ForgetOutcome outcome = engine.forget(operation, key);
            String others = outcome.otherNodesMayReplayFor().isZero() ? ""
                    : " Other nodes' replay caches may still answer for it for up to "
                            + outcome.otherNodesMayReplayFor().toSeconds() + " s.";
            return switch (outcome.result()) {
                case REMOVED -> {
                    LOG.warn("Forgot the {} record of operation={} key={} on an operator's request",
                            outcome.removedStatus(), operation, IdempotencyKeys.validate(key));
                    yield new ForgetResult(true, "The record was " + outcome.removedStatus() + " and is forgotten:"
                            + " the next request runs the work." + others);
                }
                case ABSENT -> new ForgetResult(false, "There is no record of this key.");
                case CHANGED -> new ForgetResult(false, "The record changed meanwhile (it was completed, released or"
                        + " taken over); look it up again.");
            };
        }
        String storedKey = IdempotencyKeys.storedKey(operation, key);
        Optional<IdempotencyRecord> found = store.find(storedKey);
        if (found.isEmpty()) {
            return new ForgetResult(false, "There is no record of this key.");
        }
        IdempotencyRecord record = found.get();
        if (record.status() != RecordStatus.IN_PROGRESS) {
            return new ForgetResult(false, "The record is " + record.status() + ": it is replayed until it expires at "
                    + record.expiresAt() + "; only records in progress can be forgotten.");
        }
        if (!store.release(storedKey, record.fencingToken())) {
            return new ForgetResult(false, "The record changed meanwhile (it was completed, released or taken over);"
                    + " look it up again.");
        }
        LOG.warn("Forgot the in-progress record of operation={} key={} (fencing token {}) on an operator's request",
                operation, IdempotencyKeys.validate(key), record.fencingToken());
        return new ForgetResult(true, "The record was in progress and is forgotten: the next request runs the work.");
    }

    private Optional<IdempotencyRecord> find(String operation, String key) {
        return store.find(IdempotencyKeys.storedKey(operation, key));
    }

    /**
     * A record as the endpoint shows it: everything but the stored bytes.
     *
     * @param key the stored key
     * @param status the status
     * @param requestHash the request hash, or {@code null}
     * @param fencingToken the fencing token of the current or last owner
     * @param leaseExpiresAt when the owner's lease ends (in progress only)
     * @param expiresAt when the record expires
     * @param statusCode the stored status code (completed only; 0 for none)
     * @param resultBytes the size of the stored result, or {@code null} if none is kept
     * @param failureType the type of the recorded failure (failed only)
     * @param failureMessage the message of the recorded failure (failed only)
     */
    public record RecordView(String key, RecordStatus status, @Nullable String requestHash, long fencingToken,
            @Nullable Instant leaseExpiresAt, Instant expiresAt, @Nullable Integer statusCode,
            @Nullable Integer resultBytes, @Nullable String failureType, @Nullable String failureMessage) {

        static RecordView of(IdempotencyRecord record) {
            byte[] payload = record.result() == null ? null : record.result().payload();
            return new RecordView(record.key(), record.status(), record.requestHash(), record.fencingToken(),
                    record.leaseExpiresAt(), record.expiresAt(),
                    record.result() == null ? null : record.result().statusCode(),
                    payload == null ? null : payload.length,
                    record.failure() == null ? null : record.failure().type(),
                    record.failure() == null ? null : record.failure().message());
        }
    }

    /**
     * The outcome of forgetting a key.
     *
     * @param forgotten whether the record was forgotten
     * @param detail what happened, in a sentence
     */
    public record ForgetResult(boolean forgotten, String detail) {
    }
}
