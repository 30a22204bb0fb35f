package org.idempotency.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.jspecify.annotations.Nullable;

/**
 * The lease of one owned {@link Execution}, as the engine's {@link LeaseRenewer} sees it. Kept apart from the
 * execution on purpose: the renewer holds leases, never executions, so an execution its caller dropped can be
 * garbage-collected and reported as leaked.
 *
 * <p>Times are {@link System#nanoTime()} readings of this process: a lease is known good until one lease after
 * the moment the call that last set it (the acquire or a renewal) was <em>sent</em>; the store's own lease
 * ends no earlier than that, so the local view is never the optimistic one.
 *
 * <p>Thread-safe: the caller's thread finishes it, the renewer's threads renew it.
 */
final class Lease {

    static final int OPEN = 0;
    static final int FINISHED = 1;
    static final int LOST = 2;

    final Idempotency engine;
    final String operation;
    final String key;
    final String storedKey;
    final long fencingToken;
    final boolean takeover;
    /** When the execution's call started, for the elapsed times of events. */
    final long startNanos;
    /** The execution's observation: renewals are its store calls, a loss or a leak its events. */
    final ExecutionObservation observation;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Lease.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@link #OPEN}, {@link #FINISHED} or {@link #LOST}; changed through {@link #STATE} only. */
    private volatile int state = OPEN;
    /**
     * The execution holding this lease, weakly: the renewer sees it cleared when the execution was dropped
     * unfinished and releases the key.
     */
    private volatile @Nullable WeakReference<Execution<?>> holder;
    /** Until when the lease is known to be ours (a nanoTime reading). */
    private volatile long confirmedUntilNanos;
    /** When the next renewal should start. */
    volatile long nextRenewalNanos;
    /** When the renewal call in flight was started, or 0 when none is. */
    volatile long renewalSentNanos;
    /** Whether the last renewal failed or timed out: the next one goes alone, not in a batch with others. */
    volatile boolean renewAlone;
    /** The callbacks for the loss of the lease; made by the first {@link #onLost}, as most leases have none. */
    private volatile @Nullable List<Runnable> lostCallbacks;

    Lease(Idempotency engine, String operation, String key, String storedKey, long fencingToken, boolean takeover,
            long startNanos, long sentNanos, ExecutionObservation observation) {
        this.engine = engine;
        this.operation = operation;
        this.key = key;
        this.storedKey = storedKey;
        this.fencingToken = fencingToken;
        this.takeover = takeover;
        this.startNanos = startNanos;
        this.observation = observation;
        this.confirmedUntilNanos = sentNanos + engine.leaseNanos;
        this.nextRenewalNanos = sentNanos + engine.renewIntervalNanos;
    }

    /** Identity, as {@link Object#equals}; the renewer's set holds each lease once. */
    @Override
    public boolean equals(@Nullable Object other) {
        return this == other;
    }

    /**
     * From the key and token, which tell leases apart as well as identity does, without generating an identity
     * hash for every lease the renewer's set holds.
     */
    @Override
    public int hashCode() {
        return storedKey.hashCode() * 31 + Long.hashCode(fencingToken);
    }

    int state() {
        return state;
    }

    boolean isOpen() {
        return state == OPEN;
    }

    boolean isLost() {
        return state == LOST;
    }

    /** Records the execution that holds this lease; called once, by its constructor. */
    void heldBy(Execution<?> execution) {
        holder = new WeakReference<>(execution);
    }

    /** Whether the execution holding this open lease was garbage-collected: dropped without being finished. */
    boolean dropped() {
        WeakReference<Execution<?>> reference = holder;
        return reference != null && reference.refersTo(null) && isOpen();
    }

    long confirmedUntilNanos() {
        return confirmedUntilNanos;
    }

    /**
     * Marks the lease finished by its caller (open or lost: a lost lease can still be finished, the store's
     * fencing decides); returns the state it had, so a caller can undo it with {@link #reopen}.
     *
     * @return the previous state; {@link #FINISHED} if it already was finished (nothing changed)
     */
    int finish() {
        return (int) STATE.getAndSet(this, FINISHED);
    }

    /** Undoes {@link #finish()} when nothing was written (a completion writer that threw). */
    void reopen(int previous) {
        STATE.compareAndSet(this, FINISHED, previous);
    }

    /** A renewal sent at {@code sentNanos} was confirmed by the store. */
    void renewed(long sentNanos) {
        long until = sentNanos + engine.leaseNanos;
        if (until > confirmedUntilNanos) {
            confirmedUntilNanos = until;
        }
        long next = sentNanos + engine.renewIntervalNanos;
        if (next > nextRenewalNanos) {
            nextRenewalNanos = next;
        }
        renewAlone = false;
        clearInFlight(sentNanos);
    }

    /** A renewal sent at {@code sentNanos} failed; the next one is tried promptly. */
    void renewalFailed(long sentNanos) {
        nextRenewalNanos = System.nanoTime() + engine.renewRetryNanos;
        renewAlone = true;
        clearInFlight(sentNanos);
    }

    private void clearInFlight(long sentNanos) {
        if (renewalSentNanos == sentNanos) {
            renewalSentNanos = 0;
        }
    }

    /**
     * Marks the lease lost if it is still open, reports it as {@code LEASE_LOST} (listener event, WARN line) and
     * runs the callbacks. The execution can still be finished: the store's fencing decides whether it still owns
     * the record.
     *
     * @return whether this call marked it lost
     */
    boolean lose(String why) {
        return lose(IdempotencyEvent.Type.LEASE_LOST, why);
    }

    /**
     * Marks the lease lost because its execution stayed open past the engine's maximum execution time: reported
     * as {@code LEAKED}; renewal stops, so the key frees itself when the lease ends.
     */
    boolean expire(String why) {
        return lose(IdempotencyEvent.Type.LEAKED, why);
    }

    private boolean lose(IdempotencyEvent.Type type, String why) {
        if (!STATE.compareAndSet(this, OPEN, LOST)) {
            return false;
        }
        Idempotency.LOG.warn("{}: operation={} key={} token={}: {}; the work should stop (Execution.isLeaseLost),"
                + " another caller may take the key over", type == IdempotencyEvent.Type.LEAKED
                        ? "An execution was left unfinished" : "Lease lost while the work runs",
                operation, IdempotencyStoreException.safeKey(key), fencingToken, why);
        // listeners and callbacks are application code: never on renewal's threads, and no listener delays the
        // callbacks, which stop the work
        engine.renewer.runCallbacks(this::runLostCallbacks);
        engine.renewer.report(() -> {
            engine.emit(type, operation, key, fencingToken, startNanos,
                    new IdempotencyLeaseLostException(storedKey, fencingToken));
            Observers.event(observation, type);
        });
        return true;
    }

    /**
     * Finishes the lease of an execution that was garbage-collected without being finished (see
     * {@link #dropped()}), and reports it as {@code LEAKED}; the caller then releases the key.
     *
     * @return whether the lease was still unfinished
     */
    boolean collect() {
        int previous = (int) STATE.getAndSet(this, FINISHED);
        if (previous == FINISHED) {
            return false;
        }
        engine.renewer.report(() -> engine.emit(IdempotencyEvent.Type.LEAKED, operation, key, fencingToken,
                startNanos, null));
        Idempotency.LOG.warn("An execution was garbage-collected without being finished: operation={} key={}"
                + " token={}; releasing its key. Finish every execution (complete, fail, release or close) in a"
                + " finally block", operation, IdempotencyStoreException.safeKey(key), fencingToken);
        return true;
    }

    /** Registers a callback for the loss of the lease; runs it at once if the lease is already lost. */
    void onLost(Runnable callback) {
        List<Runnable> callbacks = lostCallbacks;
        if (callbacks == null) {
            synchronized (this) {
                callbacks = lostCallbacks;
                if (callbacks == null) {
                    callbacks = new CopyOnWriteArrayList<>();
                    lostCallbacks = callbacks;
                }
            }
        }
        callbacks.add(callback);
        if (isLost() && callbacks.remove(callback)) {
            run(callback);
        }
    }

    private void runLostCallbacks() {
        List<Runnable> callbacks = lostCallbacks; // read after the state changed: see onLost
        if (callbacks == null) {
            return;
        }
        for (Runnable callback : callbacks) {
            if (callbacks.remove(callback)) {
                run(callback);
            }
        }
    }

    private void run(Runnable callback) {
        try {
            callback.run();
        } catch (Throwable e) {
            Idempotency.LOG.warn("A lease-lost callback of operation={} key={} threw; ignored", operation,
                    IdempotencyStoreException.safeKey(key), e);
        }
    }
}
