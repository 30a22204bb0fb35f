package org.idempotency.core;

import java.lang.ref.Reference;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.jspecify.annotations.Nullable;

/**
 * One execution of an {@link IdempotentOperation} for one key, as returned by
 * {@link IdempotentOperation#begin}: either a <em>replay</em> of a stored result, or an <em>owned</em>
 * execution that must be finished exactly once with {@link #complete}, {@link #fail}, {@link #release} or
 * {@link #abandon}. While an owned execution is open its lease is renewed in the background. {@link #close()}
 * releases it if it was not finished, so try-with-resources never leaves a key locked.
 *
 * <pre>{@code
 * try (Execution<Receipt> execution = charge.begin(key, requestHash)) {
 *     if (execution.isReplay()) {
 *         return execution.replayedResult();
 *     }
 *     Receipt receipt = payments.charge(request);
 *     execution.complete(receipt);
 *     return receipt;
 * }
 * }</pre>
 *
 * <p>An execution may also be <em>unprotected</em>: the store failed and the engine is configured to fail
 * open. It is owned, and finishing it does nothing.
 *
 * <p><b>The lease.</b> While an owned execution is open, the engine renews its lease in the background (the
 * renewal budget is on {@link Idempotency}). If it is lost anyway (a takeover after the store was unreachable
 * for most of a lease, a stalled process), {@link #isLeaseLost()} turns true and {@link #onLeaseLost}
 * callbacks run: long work checks it between steps ({@link #checkLease()}) and stops, because another caller
 * may now run the same work.
 *
 * <p><b>Always finish.</b> Every owned execution must end with one of the finishing calls, in a
 * {@code finally} block or with try-with-resources. One left open is bounded: past the engine's
 * {@link Idempotency.Builder#maxExecutionTime maximum execution time} it is no longer renewed (its key frees
 * itself one lease later), and one that is garbage-collected unfinished has its key released; both are reported
 * as {@code LEAKED} events and WARN lines.
 *
 * <p>Thread-safe. Finishing happens once; later finishing calls throw {@link IllegalStateException}.
 *
 * @param <T> the result type
 */
public final class Execution<T> implements AutoCloseable {

    private final IdempotentOperation<T> operation;
    private final Idempotency engine;
    private final String key;
    private final String storedKey;
    /** The caller's request hash, kept for this node's replay cache; {@code null} if none was given. */
    private final @Nullable String requestHash;
    private final boolean replay;
    private final @Nullable T replayed;
    private final long startNanos;
    /** The lease of an owned execution; {@code null} for replays and unprotected executions. */
    private final @Nullable Lease lease;
    /** The observation of an owned or unprotected execution, ended when it is finished. */
    private final ExecutionObservation observation;
    /** Whether an unprotected execution's observation was ended; {@code null} for other executions. */
    private final @Nullable AtomicBoolean unprotectedEnded;
    /** The encoded result of a completion in a {@link CompletionBatch}, between its two halves. */
    private @Nullable Encoded batched;

    private Execution(IdempotentOperation<T> operation, String key, String storedKey, @Nullable String requestHash,
            boolean replay, @Nullable T replayed, long startNanos, @Nullable Lease lease,
            ExecutionObservation observation) {
        this.operation = operation;
        this.engine = operation.engine();
        this.key = key;
        this.storedKey = storedKey;
        this.requestHash = requestHash;
        this.replay = replay;
        this.replayed = replayed;
        this.startNanos = startNanos;
        this.lease = lease;
        this.observation = observation;
        this.unprotectedEnded = replay || lease != null ? null : new AtomicBoolean();
        if (lease != null) {
            lease.heldBy(this); // the renewer releases the key if this execution is dropped unfinished
        }
    }

    static <T> Execution<T> replayed(IdempotentOperation<T> operation, String key, String storedKey,
            @Nullable T value, long startNanos) {
        return new Execution<>(operation, key, storedKey, null, true, value, startNanos, null, Observers.NOOP);
    }

    static <T> Execution<T> unprotected(IdempotentOperation<T> operation, String key, String storedKey,
            ExecutionObservation observation) {
        return new Execution<>(operation, key, storedKey, null, false, null, System.nanoTime(), null,
                observation);
    }

    /**
     * An owned execution.
     *
     * @param sentNanos when the acquire call that returned the token was sent: the lease is counted from then
     */
    static <T> Execution<T> owned(IdempotentOperation<T> operation, String key, String storedKey,
            @Nullable String requestHash, long token, boolean takeover, long startNanos, long sentNanos,
            ExecutionObservation observation) {
        Idempotency engine = operation.engine();
        Lease lease = new Lease(engine, operation.name(), key, storedKey, token, takeover, startNanos, sentNanos,
                observation);
        Execution<T> execution = new Execution<>(operation, key, storedKey, requestHash, false, null, startNanos,
                lease, observation);
        engine.emit(takeover ? IdempotencyEvent.Type.TAKEOVER : IdempotencyEvent.Type.ACQUIRED, operation.name(),
                key, token, startNanos, null);
        Observers.event(observation, takeover ? IdempotencyEvent.Type.TAKEOVER : IdempotencyEvent.Type.ACQUIRED);
        if (takeover) {
            Idempotency.LOG.info("Took over an expired lease: operation={} key={} token={}", operation.name(),
                    key, token);
        } else {
            if (Idempotency.LOG.isDebugEnabled()) { // three arguments: an array and a boxed token per call
                Idempotency.LOG.debug("Acquired: operation={} key={} token={}", operation.name(), key, token);
            }
        }
        engine.renewer.register(lease);
        return execution;
    }

    /** The observation of this execution, for the engine's scope around the work it runs itself. */
    ExecutionObservation observation() {
        return observation;
    }

    /**
     * Whether this is a replay of a stored result (the work must not run).
     *
     * @return {@code true} if this execution replays a stored result
     */
    public boolean isReplay() {
        return replay;
    }

    /**
     * Whether this caller owns the key and must run the work and finish the execution.
     *
     * @return {@code true} if this caller owns the key and runs the work
     */
    public boolean isOwner() {
        return !replay;
    }

    /**
     * Whether the work runs without protection because the store failed and the engine fails open.
     *
     * @return {@code true} if the work runs unprotected
     */
    public boolean isUnprotected() {
        return !replay && lease == null;
    }

    /**
     * Whether this execution took over an expired lease of an earlier owner (which may have done part of the work).
     *
     * @return {@code true} if this execution took over an expired lease
     */
    public boolean isTakeover() {
        return lease != null && lease.takeover;
    }

    /**
     * The fencing token of an owned execution; 0 for replays and unprotected executions.
     *
     * @return the fencing token, or 0 if this execution holds no lease
     */
    public long fencingToken() {
        return lease == null ? 0 : lease.fencingToken;
    }

    /**
     * The caller's key.
     *
     * @return the key as the caller gave it, without the operation's name
     */
    public String key() {
        return key;
    }

    /**
     * The key under which the store holds the record ({@code operation:key}).
     *
     * @return the stored key, {@code operation:key}
     */
    public String storedKey() {
        return storedKey;
    }

    /**
     * The operation this execution belongs to.
     *
     * @return the operation handle that began this execution
     */
    public IdempotentOperation<T> operation() {
        return operation;
    }

    /**
     * The stored result of a replay, decoded into the declared type.
     *
     * @return the result the first execution completed with, decoded into the operation's type
     * @throws IllegalStateException if this is not a replay
     */
    public T replayedResult() {
        if (!replay) {
            throw new IllegalStateException("Execution for key '" + storedKey + "' is owned, not a replay");
        }
        return replayed;
    }

    /**
     * Whether this owned execution has lost its lease while it is open: the store answered a renewal that this
     * execution's fencing token no longer owns the record, or no renewal could be confirmed before the lease
     * ended (measured on this process's monotonic clock from when the last confirmed call was sent, so never
     * later than the store's view), or the execution stayed open past the engine's maximum execution time.
     * Another caller may then take the key over and run the same work; long work should check this between
     * steps and stop. A lost lease is not renewed any more. Finishing the execution is still allowed: the
     * store's fencing check decides whether it still owns the record.
     *
     * <p>Always {@code false} for replays and unprotected executions, which hold no lease.
     *
     * <pre>{@code
     * try (Execution<Report> execution = reports.begin(key, requestHash)) {
     *     if (execution.isReplay()) {
     *         return execution.replayedResult();
     *     }
     *     Report report = new Report();
     *     for (Chunk chunk : chunks) {
     *         execution.checkLease(); // stop before the next step if another caller may own the key
     *         report.add(process(chunk));
     *     }
     *     execution.complete(report);
     *     return report;
     * }
     * }</pre>
     *
     * @return {@code true} if this execution may no longer own its key
     */
    public boolean isLeaseLost() {
        return lease != null && lease.isLost();
    }

    /**
     * Throws if the lease is lost ({@link #isLeaseLost()}); for long work to call between steps.
     *
     * @throws IdempotencyLeaseLostException if this execution may no longer own its key
     */
    public void checkLease() {
        if (isLeaseLost()) {
            throw new IdempotencyLeaseLostException(storedKey, fencingToken());
        }
    }

    /**
     * Runs {@code callback} once if this execution loses its lease while open (see {@link #isLeaseLost()}, which
     * turns true a moment before the callbacks run), on an engine thread that runs lease-lost callbacks only, one
     * at a time (no listener delays them): keep it short (set a flag, interrupt or cancel the work). Runs it at
     * once, on the calling thread, if the lease is already lost; never runs it for replays, unprotected or
     * finished executions. Whatever it throws is logged and ignored.
     *
     * @param callback what to do when the lease is lost
     * @return this execution
     */
    public Execution<T> onLeaseLost(Runnable callback) {
        Objects.requireNonNull(callback, "callback must not be null");
        if (lease != null) {
            lease.onLost(callback);
        }
        return this;
    }

    /**
     * How much of the lease is known to be left, by this process's monotonic clock: the lease counted from when
     * the last call that set it (the acquire or a confirmed renewal) was sent. Zero once the lease is lost or the
     * execution finished, and for replays and unprotected executions. Work that is about to start a step longer
     * than this can renew nothing itself: the engine renews in the background; this says how far it got.
     *
     * @return the lease known to be left; never negative
     */
    public Duration leaseRemaining() {
        if (lease == null || !lease.isOpen()) {
            return Duration.ZERO;
        }
        long left = lease.confirmedUntilNanos() - System.nanoTime();
        return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
    }

    /**
     * Stores the result and closes the record. A result that cannot be encoded, or whose encoding exceeds
     * the size limit, still closes the record (the work is never run again) but is not kept; this is reported
     * as {@code RESULT_NOT_KEPT} with the cause and a WARN line.
     *
     * @param result the work's result; may be {@code null}
     * @return {@code true} if the record was completed; {@code false} if this execution no longer owned it
     *     (reported as {@code LEASE_LOST}), the store failed (reported as {@code STORE_ERROR}), or the
     *     execution is unprotected
     * @throws IllegalStateException if the execution is a replay or already finished
     */
    public boolean complete(@Nullable T result) {
        return complete(result, 0, null);
    }

    /**
     * Like {@link #complete(Object)}, also storing a status code (such as an HTTP status) with the result.
     *
     * @param result the work's result; may be {@code null}
     * @param statusCode the status code to store, 0 for none
     * @return as for {@link #complete(Object)}
     */
    public boolean complete(@Nullable T result, int statusCode) {
        return complete(result, statusCode, null);
    }

    /**
     * Like {@link #complete(Object, int)}, writing the completion through {@code writer} (for example inside
     * the caller's transaction). Store exceptions thrown by the writer propagate, so the caller's transaction
     * can roll back; the execution then stays open, to be released or failed.
     *
     * @param result the work's result; may be {@code null}
     * @param statusCode the status code to store, 0 for none
     * @param writer where the completion is written; {@code null} for the engine's store
     * @return as for {@link #complete(Object)}
     */
    public boolean complete(@Nullable T result, int statusCode, @Nullable CompletionWriter writer) {
        int previous = finish("complete");
        if (lease == null) {
            endUnprotected(null);
            return false;
        }
        Encoded encoded = encode(result, statusCode);
        boolean completed = store(encoded, writer, previous);
        if (encoded.notKeptBecause() instanceof Error error) {
            throw error; // the record is closed without the result; the caller still learns what happened
        }
        return completed;
    }

    /**
     * Closes the record without a result, when the work ran (so it must not run again) but what it produced
     * cannot be kept, such as an HTTP response over a buffer limit. Replays get
     * {@link org.idempotency.api.IdempotencyResultNotKeptException}; listeners see {@code RESULT_NOT_KEPT}.
     *
     * @param statusCode the status code to store, 0 for none
     * @return {@code true} if the record was closed; {@code false} as for {@link #complete(Object)}
     */
    public boolean completeWithoutResult(int statusCode) {
        int previous = finish("complete");
        if (lease == null) {
            endUnprotected(null);
            return false;
        }
        return store(new Encoded(new StoredResult(null, statusCode), null), null, previous);
    }

    private boolean store(Encoded encoded, @Nullable CompletionWriter writer, int previous) {
        Lease owned = lease;
        StoredResult stored = encoded.result();
        boolean completed;
        long sent = 0; // zero: written through the caller's writer, never cached
        StoreCallObservation call = Observers.call(observation, StoreCall.COMPLETE);
        if (writer != null) {
            try {
                completed = writer.complete(storedKey, owned.fencingToken, stored, engine.retention);
            } catch (RuntimeException | Error e) {
                Observers.error(call, e);
                // nothing was written: the caller may still release or fail it, and it is renewed meanwhile
                owned.reopen(previous);
                if (owned.isOpen()) {
                    engine.renewer.register(owned);
                }
                throw e;
            }
        } else {
            sent = System.nanoTime();
            try {
                completed = engine.store.complete(storedKey, owned.fencingToken, stored, engine.retention);
            } catch (RuntimeException e) {
                Observers.error(call, e);
                Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, storeFailed("complete", e));
                return false;
            } catch (Error e) {
                Observers.error(call, e);
                Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, e);
                throw e;
            }
        }
        Observers.end(call, Observers.owned(completed), 1);
        return completed(encoded, completed, sent);
    }

    /** Whether an owned execution was finished (completed, failed, released, abandoned or closed). */
    boolean isFinished() {
        return lease != null && lease.state() == Lease.FINISHED;
    }

    /**
     * The first half of a completion in a {@link CompletionBatch}: finishes the execution and encodes the result.
     *
     * @return what to send to the store, or {@code null} for an unprotected execution (whose completion does
     *     nothing and answers {@code false})
     * @throws IllegalStateException if the execution is a replay or already finished
     */
    @Nullable CompleteRequest prepareBatchCompletion(@Nullable T result, int statusCode) {
        finish("complete");
        if (lease == null) {
            endUnprotected(null);
            return null;
        }
        Encoded encoded = encode(result, statusCode);
        batched = encoded;
        return new CompleteRequest(storedKey, lease.fencingToken, encoded.result());
    }

    /**
     * The second half of a batch completion, once the store answered for this execution: events, log lines, the
     * replay cache, exactly as a single completion.
     *
     * @param sentNanos when the batch call was sent
     * @return {@code completed}
     */
    boolean batchCompleted(boolean completed, long sentNanos) {
        return completed(Objects.requireNonNull(batched), completed, sentNanos);
    }

    /** The second half of a batch completion whose store call threw: reported as for a single completion. */
    void batchStoreFailed(RuntimeException cause) {
        Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, storeFailed("complete", cause));
    }

    /** The second half of a batch completion whose store call threw an {@link Error}. */
    void batchError(Error error) {
        Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, error);
    }

    /** The {@link Error} that stopped a batch-completed result from being encoded, to rethrow; or {@code null}. */
    @Nullable Error batchEncodingError() {
        Encoded encoded = batched;
        return encoded != null && encoded.notKeptBecause() instanceof Error error ? error : null;
    }

    /** What follows the store's answer to a completion, single or batched. */
    private boolean completed(Encoded encoded, boolean completed, long sentNanos) {
        Lease owned = lease;
        StoredResult stored = encoded.result();
        if (!completed) {
            leaseLost("complete");
            return false;
        }
        IdempotencyEvent.Type outcome = stored.kept() ? IdempotencyEvent.Type.COMPLETED
                : IdempotencyEvent.Type.RESULT_NOT_KEPT;
        if (sentNanos != 0 && caches()) {
            cacheFinished(IdempotencyRecord.completed(storedKey, requestHash, owned.fencingToken, stored,
                    Instant.now().plus(engine.retention)), sentNanos);
        }
        engine.emit(outcome, operation.name(), key, owned.fencingToken, startNanos, encoded.notKeptBecause());
        Observers.end(observation, outcome, encoded.notKeptBecause());
        if (Idempotency.LOG.isDebugEnabled()) {
            Idempotency.LOG.debug("Completed: operation={} key={} token={}", operation.name(), key,
                    owned.fencingToken);
        }
        return true;
    }

    /**
     * Records a permanent failure (error type and message), replayed to later callers. If the store cannot
     * record it, the key is released instead (reported as {@code STORE_ERROR}), so that it is not left held
     * until the lease ends.
     *
     * @param error the failure to record
     * @return {@code true} if recorded; {@code false} if not owned any more, the store failed, or unprotected
     */
    public boolean fail(Throwable error) {
        Objects.requireNonNull(error, "error must not be null");
        finish("fail");
        if (lease == null) {
            endUnprotected(error);
            return false;
        }
        boolean failed;
        StoreCallObservation call = Observers.call(observation, StoreCall.FAIL);
        StoredFailure failure = StoredFailure.of(error);
        long sent = System.nanoTime();
        try {
            failed = engine.store.fail(storedKey, lease.fencingToken, failure, engine.retention);
        } catch (RuntimeException e) {
            Observers.error(call, e);
            IdempotencyStoreException storeError = storeFailed("record a failure", e);
            doRelease(error, false);
            Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, storeError);
            return false;
        } catch (Error e) {
            Observers.error(call, e);
            Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, e);
            throw e;
        }
        Observers.end(call, Observers.owned(failed), 1);
        if (!failed) {
            leaseLost("fail");
            return false;
        }
        if (caches()) {
            cacheFinished(IdempotencyRecord.failed(storedKey, requestHash, lease.fencingToken, failure,
                    Instant.now().plus(engine.retention)), sent);
        }
        engine.emit(IdempotencyEvent.Type.FAILURE_RECORDED, operation.name(), key, lease.fencingToken, startNanos,
                error);
        Observers.end(observation, IdempotencyEvent.Type.FAILURE_RECORDED, error);
        if (Idempotency.LOG.isDebugEnabled()) {
            Idempotency.LOG.debug("Recorded a permanent failure: operation={} key={} type={}", operation.name(),
                    key, error.getClass().getName());
        }
        return true;
    }

    /**
     * Deletes the record so that a retry runs the work again.
     *
     * @return {@code true} if released; {@code false} if not owned any more, the store failed, or unprotected
     */
    public boolean release() {
        finish("release");
        if (lease == null) {
            endUnprotected(null);
            return false;
        }
        return doRelease(null, true);
    }

    /**
     * Finishes after the work threw: records a permanent failure if the engine's predicate says so,
     * otherwise releases the key. Never throws a store fault: the caller rethrows the work's exception.
     *
     * @param error what the work threw
     */
    public void abandon(Throwable error) {
        Objects.requireNonNull(error, "error must not be null");
        if (lease == null) {
            finish("abandon");
            endUnprotected(error);
            return;
        }
        boolean permanent;
        try {
            permanent = engine.permanentFailure.test(error);
        } catch (RuntimeException e) {
            Idempotency.LOG.warn("The permanentFailure predicate threw; treating the failure of key={} as"
                    + " transient", key, e);
            permanent = false;
        }
        if (permanent) {
            fail(error);
        } else {
            finish("abandon");
            doRelease(error, true);
        }
    }

    /** Releases the key if this owned execution was not finished; otherwise does nothing. */
    @Override
    public void close() {
        if (lease != null && lease.finish() != Lease.FINISHED) {
            Reference.reachabilityFence(this); // as in finish(String)
            stopTracking();
            doRelease(null, true);
        } else if (lease == null && !replay) {
            endUnprotected(null);
        }
    }

    /**
     * Releases the key of an owned execution.
     *
     * @param cause what the work threw, if it threw
     * @param outcome whether the release is the execution's outcome, to end its observation with
     */
    private boolean doRelease(@Nullable Throwable cause, boolean outcome) {
        if (lease == null) {
            return false;
        }
        boolean released;
        StoreCallObservation call = Observers.call(observation, StoreCall.RELEASE);
        try {
            released = engine.store.release(storedKey, lease.fencingToken);
        } catch (RuntimeException e) {
            Observers.error(call, e);
            IdempotencyStoreException error = storeFailed("release", e);
            if (outcome) {
                Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, error);
            }
            return false;
        } catch (Error e) {
            Observers.error(call, e);
            Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, e); // the Error ends the execution
            throw e;
        }
        Observers.end(call, Observers.owned(released), 1);
        if (!released) {
            if (outcome) {
                leaseLost("release");
            } else {
                reportLeaseLost("release");
            }
            return false;
        }
        engine.emit(IdempotencyEvent.Type.RELEASED, operation.name(), key, lease.fencingToken, startNanos, cause);
        if (outcome) {
            Observers.end(observation, IdempotencyEvent.Type.RELEASED, cause);
        }
        if (Idempotency.LOG.isDebugEnabled()) {
            Idempotency.LOG.debug("Released: operation={} key={} token={}", operation.name(), key,
                    lease.fencingToken);
        }
        return true;
    }

    /**
     * Keeps a record this execution finished in the engine's replay cache, if it has one. A takeover's record keeps
     * the earlier owner's request hash, which this execution does not know, so it is not cached (the next replay
     * reads it from the store, and caches it then).
     */
    private void cacheFinished(IdempotencyRecord record, long sentNanos) {
        Objects.requireNonNull(engine.replayCache).putFinished(record, sentNanos, engine.retention);
    }

    /** Whether a record this execution finished goes into the replay cache. */
    private boolean caches() {
        return engine.replayCache != null && lease != null && !lease.takeover;
    }

    /** Marks the execution finished, or throws if it cannot be; returns the lease's previous state. */
    private int finish(String action) {
        if (replay) {
            throw new IllegalStateException("Cannot " + action + " a replayed execution (key '" + storedKey + "')");
        }
        if (lease == null) {
            return Lease.FINISHED; // unprotected: finishing does nothing, any number of times
        }
        int previous = lease.finish();
        Reference.reachabilityFence(this); // not collected, and so not seen as dropped, before it is finished
        if (previous == Lease.FINISHED) {
            throw new IllegalStateException("Execution for key '" + storedKey + "' is already finished; cannot "
                    + action + " it");
        }
        stopTracking();
        return previous;
    }

    /** Stops renewal and the leak check of a finished execution. */
    private void stopTracking() {
        engine.renewer.unregister(lease);
    }

    /** An encoded result, and why it was not kept when it was not. */
    private record Encoded(StoredResult result, @Nullable Throwable notKeptBecause) {
    }

    private Encoded encode(@Nullable T result, int statusCode) {
        byte[] bytes;
        try {
            bytes = result == null ? operation.encodedNull() : operation.codec.encode(result);
        } catch (RuntimeException | Error e) { // an Error too, such as a deep structure's StackOverflowError
            Idempotency.LOG.warn("The result of operation={} key={} could not be encoded; the record is closed"
                    + " without it, replays will get 'result not kept': {}", operation.name(), key, e.toString());
            return new Encoded(new StoredResult(null, statusCode), e);
        }
        if (bytes.length > engine.maxResultBytes) {
            Idempotency.LOG.warn("The result of operation={} key={} is {} bytes, over the limit of {}; the record"
                    + " is closed without it, replays will get 'result not kept'", operation.name(), key,
                    bytes.length, engine.maxResultBytes);
            return new Encoded(new StoredResult(null, statusCode), new IdempotencyResultNotKeptException(storedKey));
        }
        return new Encoded(new StoredResult(bytes, statusCode), null);
    }

    /** Reports a finishing call refused by the store's fencing, and ends the observation with it. */
    private void leaseLost(String action) {
        reportLeaseLost(action);
        Observers.end(observation, IdempotencyEvent.Type.LEASE_LOST, null);
    }

    private void reportLeaseLost(String action) {
        engine.emit(IdempotencyEvent.Type.LEASE_LOST, operation.name(), key, lease.fencingToken, startNanos,
                new IdempotencyLeaseLostException(storedKey, lease.fencingToken));
        Idempotency.LOG.warn("Lease lost before {}: operation={} key={} token={} is no longer current (another"
                + " execution took over, or the record expired); nothing was overwritten", action,
                operation.name(), key, lease.fencingToken);
    }

    private IdempotencyStoreException storeFailed(String action, RuntimeException cause) {
        IdempotencyStoreException error = cause instanceof IdempotencyStoreException storeError ? storeError
                : new IdempotencyStoreException("The idempotency store failed to " + action, storedKey, cause);
        engine.emit(IdempotencyEvent.Type.STORE_ERROR, operation.name(), key, lease.fencingToken, startNanos, error);
        Idempotency.LOG.warn("Idempotency store failed to {}: operation={} key={} token={}: {}", action,
                operation.name(), key, lease.fencingToken, error.getMessage());
        return error;
    }

    /** Ends the observation of an unprotected execution, once, however often it is finished. */
    private void endUnprotected(@Nullable Throwable error) {
        if (unprotectedEnded != null && unprotectedEnded.compareAndSet(false, true)) {
            Observers.end(observation, IdempotencyEvent.Type.UNPROTECTED, error);
        }
    }
}
