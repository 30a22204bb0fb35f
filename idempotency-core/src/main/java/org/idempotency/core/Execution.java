package org.idempotency.core;

import java.util.Objects;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
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
 * <p>Finishing is thread-safe and happens once; later finishing calls throw {@link IllegalStateException}.
 *
 * @param <T> the result type
 */
public final class Execution<T> implements AutoCloseable {

    private final IdempotentOperation<T> operation;
    private final Idempotency engine;
    private final String key;
    private final String storedKey;
    private final long fencingToken;
    private final boolean takeover;
    private final boolean replay;
    private final boolean unprotected;
    private final @Nullable T replayed;
    private final long startNanos;
    private static final VarHandle FINISHED;

    static {
        try {
            FINISHED = MethodHandles.lookup().findVarHandle(Execution.class, "finished", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile boolean finished;
    private volatile long lastRenewedNanos;

    private Execution(IdempotentOperation<T> operation, String key, String storedKey, long fencingToken,
            boolean takeover, boolean replay, boolean unprotected, @Nullable T replayed, long startNanos) {
        this.operation = operation;
        this.engine = operation.engine();
        this.key = key;
        this.storedKey = storedKey;
        this.fencingToken = fencingToken;
        this.takeover = takeover;
        this.replay = replay;
        this.unprotected = unprotected;
        this.replayed = replayed;
        this.startNanos = startNanos;
        this.lastRenewedNanos = startNanos;
        if (replay || unprotected) {
            finished = true;
        }
    }

    static <T> Execution<T> replayed(IdempotentOperation<T> operation, String key, String storedKey,
            @Nullable T value, long startNanos) {
        return new Execution<>(operation, key, storedKey, 0, false, true, false, value, startNanos);
    }

    static <T> Execution<T> unprotected(IdempotentOperation<T> operation, String key, String storedKey) {
        return new Execution<>(operation, key, storedKey, 0, false, false, true, null, System.nanoTime());
    }

    static <T> Execution<T> owned(IdempotentOperation<T> operation, String key, String storedKey, long token,
            boolean takeover, long startNanos) {
        Execution<T> execution = new Execution<>(operation, key, storedKey, token, takeover, false, false, null,
                startNanos);
        Idempotency engine = operation.engine();
        engine.emit(takeover ? IdempotencyEvent.Type.TAKEOVER : IdempotencyEvent.Type.ACQUIRED, operation.name(),
                key, token, startNanos, null);
        if (takeover) {
            Idempotency.LOG.info("Took over an expired lease: operation={} key={} token={}", operation.name(),
                    key, token);
        } else {
            Idempotency.LOG.debug("Acquired: operation={} key={} token={}", operation.name(), key, token);
        }
        execution.startRenewal();
        return execution;
    }

    /** Whether this is a replay of a stored result (the work must not run). */
    public boolean isReplay() {
        return replay;
    }

    /** Whether this caller owns the key and must run the work and finish the execution. */
    public boolean isOwner() {
        return !replay;
    }

    /** Whether the work runs without protection because the store failed and the engine fails open. */
    public boolean isUnprotected() {
        return unprotected;
    }

    /** Whether this execution took over an expired lease of an earlier owner (which may have done part of the work). */
    public boolean isTakeover() {
        return takeover;
    }

    /** The fencing token of an owned execution; 0 for replays and unprotected executions. */
    public long fencingToken() {
        return fencingToken;
    }

    /** The caller's key. */
    public String key() {
        return key;
    }

    /** The key under which the store holds the record ({@code operation:key}). */
    public String storedKey() {
        return storedKey;
    }

    /** The operation this execution belongs to. */
    public IdempotentOperation<T> operation() {
        return operation;
    }

    /**
     * The stored result of a replay, decoded into the declared type.
     *
     * @throws IllegalStateException if this is not a replay
     */
    public T replayedResult() {
        if (!replay) {
            throw new IllegalStateException("Execution for key '" + storedKey + "' is owned, not a replay");
        }
        return replayed;
    }

    /**
     * Stores the result and closes the record. A result that cannot be encoded, or whose encoding exceeds
     * the size limit, still closes the record (the work is never run again) but is not kept.
     *
     * @return {@code true} if the record was completed; {@code false} if this execution no longer owned it
     *     (reported as {@code LEASE_LOST}), the store failed (reported as {@code STORE_ERROR}), or the
     *     execution is unprotected
     * @throws IllegalStateException if the execution is a replay or already finished
     */
    public boolean complete(@Nullable T result) {
        return complete(result, 0, null);
    }

    /** Like {@link #complete(Object)}, also storing a status code (such as an HTTP status) with the result. */
    public boolean complete(@Nullable T result, int statusCode) {
        return complete(result, statusCode, null);
    }

    /**
     * Like {@link #complete(Object, int)}, writing the completion through {@code writer} (for example inside
     * the caller's transaction). Store exceptions thrown by the writer propagate, so the caller's transaction
     * can roll back.
     */
    public boolean complete(@Nullable T result, int statusCode, @Nullable CompletionWriter writer) {
        finish("complete");
        if (unprotected) {
            return false;
        }
        return store(encode(result, statusCode), writer);
    }

    /**
     * Closes the record without a result, when the work ran (so it must not run again) but what it produced
     * cannot be kept, such as an HTTP response over a buffer limit. Replays get
     * {@link org.idempotency.api.IdempotencyResultNotKeptException}; listeners see {@code RESULT_NOT_KEPT}.
     *
     * @return {@code true} if the record was closed; {@code false} as for {@link #complete(Object)}
     */
    public boolean completeWithoutResult(int statusCode) {
        finish("complete");
        if (unprotected) {
            return false;
        }
        return store(new StoredResult(null, statusCode), null);
    }

    private boolean store(StoredResult stored, @Nullable CompletionWriter writer) {
        boolean completed;
        if (writer != null) {
            try {
                completed = writer.complete(storedKey, fencingToken, stored, engine.retention);
            } catch (RuntimeException e) {
                finished = false; // nothing was written: the caller may still release or fail it
                throw e;
            }
        } else {
            try {
                completed = engine.store.complete(storedKey, fencingToken, stored, engine.retention);
            } catch (RuntimeException e) {
                storeFailed("complete", e);
                return false;
            }
        }
        if (!completed) {
            leaseLost("complete");
            return false;
        }
        engine.emit(stored.kept() ? IdempotencyEvent.Type.COMPLETED : IdempotencyEvent.Type.RESULT_NOT_KEPT,
                operation.name(), key, fencingToken, startNanos, null);
        Idempotency.LOG.debug("Completed: operation={} key={} token={}", operation.name(), key, fencingToken);
        return true;
    }

    /**
     * Records a permanent failure (error type and message), replayed to later callers.
     *
     * @return {@code true} if recorded; {@code false} if not owned any more, the store failed, or unprotected
     */
    public boolean fail(Throwable error) {
        Objects.requireNonNull(error, "error must not be null");
        finish("fail");
        if (unprotected) {
            return false;
        }
        boolean failed;
        try {
            failed = engine.store.fail(storedKey, fencingToken, StoredFailure.of(error), engine.retention);
        } catch (RuntimeException e) {
            storeFailed("fail", e);
            return false;
        }
        if (!failed) {
            leaseLost("fail");
            return false;
        }
        engine.emit(IdempotencyEvent.Type.FAILURE_RECORDED, operation.name(), key, fencingToken, startNanos, error);
        Idempotency.LOG.debug("Recorded a permanent failure: operation={} key={} type={}", operation.name(), key,
                error.getClass().getName());
        return true;
    }

    /**
     * Deletes the record so that a retry runs the work again.
     *
     * @return {@code true} if released; {@code false} if not owned any more, the store failed, or unprotected
     */
    public boolean release() {
        finish("release");
        return doRelease(null);
    }

    /**
     * Finishes after the work threw: records a permanent failure if the engine's predicate says so,
     * otherwise releases the key. Never throws a store fault: the caller rethrows the work's exception.
     */
    public void abandon(Throwable error) {
        Objects.requireNonNull(error, "error must not be null");
        if (unprotected) {
            finish("abandon");
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
            doRelease(error);
        }
    }

    /** Releases the key if this owned execution was not finished; otherwise does nothing. */
    @Override
    public void close() {
        if (FINISHED.compareAndSet(this, false, true)) {
            stopRenewal();
            doRelease(null);
        }
    }

    private boolean doRelease(@Nullable Throwable cause) {
        if (unprotected) {
            return false;
        }
        boolean released;
        try {
            released = engine.store.release(storedKey, fencingToken);
        } catch (RuntimeException e) {
            storeFailed("release", e);
            return false;
        }
        if (!released) {
            leaseLost("release");
            return false;
        }
        engine.emit(IdempotencyEvent.Type.RELEASED, operation.name(), key, fencingToken, startNanos, cause);
        Idempotency.LOG.debug("Released: operation={} key={} token={}", operation.name(), key, fencingToken);
        return true;
    }

    private void finish(String action) {
        if (replay) {
            throw new IllegalStateException("Cannot " + action + " a replayed execution (key '" + storedKey + "')");
        }
        if (!FINISHED.compareAndSet(this, false, true) && !unprotected) {
            throw new IllegalStateException("Execution for key '" + storedKey + "' is already finished; cannot "
                    + action + " it");
        }
        stopRenewal();
    }

    private StoredResult encode(@Nullable T result, int statusCode) {
        byte[] bytes;
        try {
            bytes = result == null ? operation.encodedNull() : operation.codec.encode(result);
        } catch (RuntimeException e) {
            Idempotency.LOG.warn("The result of operation={} key={} could not be encoded; the record is closed"
                    + " without it, replays will get 'result not kept': {}", operation.name(), key, e.toString());
            return new StoredResult(null, statusCode);
        }
        if (bytes.length > engine.maxResultBytes) {
            Idempotency.LOG.warn("The result of operation={} key={} is {} bytes, over the limit of {}; the record"
                    + " is closed without it, replays will get 'result not kept'", operation.name(), key,
                    bytes.length, engine.maxResultBytes);
            return new StoredResult(null, statusCode);
        }
        return new StoredResult(bytes, statusCode);
    }

    private void leaseLost(String action) {
        engine.emit(IdempotencyEvent.Type.LEASE_LOST, operation.name(), key, fencingToken, startNanos, null);
        Idempotency.LOG.warn("Lease lost before {}: operation={} key={} token={} is no longer current (another"
                + " execution took over, or the record expired); nothing was overwritten", action,
                operation.name(), key, fencingToken);
    }

    private void storeFailed(String action, RuntimeException cause) {
        IdempotencyStoreException error = cause instanceof IdempotencyStoreException storeError ? storeError
                : new IdempotencyStoreException("The idempotency store failed to " + action, storedKey, cause);
        engine.emit(IdempotencyEvent.Type.STORE_ERROR, operation.name(), key, fencingToken, startNanos, error);
        Idempotency.LOG.warn("Idempotency store failed to {}: operation={} key={} token={}: {}", action,
                operation.name(), key, fencingToken, error.getMessage());
    }

    private void startRenewal() {
        engine.renewer.register(this);
        if (finished) {
            stopRenewal();
        }
    }

    private void stopRenewal() {
        engine.renewer.unregister(this);
    }

    long lastRenewedNanos() {
        return lastRenewedNanos;
    }

    /** Called by the engine's {@link LeaseRenewer} when the lease is due for renewal. */
    void renew(long nowNanos) {
        if (finished) {
            stopRenewal();
            return;
        }
        lastRenewedNanos = nowNanos;
        boolean extended;
        try {
            extended = engine.store.extend(storedKey, fencingToken, engine.lease);
        } catch (RuntimeException e) {
            storeFailed("extend the lease", e);
            return;
        }
        if (extended) {
            engine.emit(IdempotencyEvent.Type.LEASE_RENEWED, operation.name(), key, fencingToken, startNanos, null);
        } else {
            stopRenewal();
            if (!finished) {
                leaseLost("renewal");
            }
        }
    }
}
