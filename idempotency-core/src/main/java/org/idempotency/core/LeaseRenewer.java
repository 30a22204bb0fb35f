package org.idempotency.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;

/**
 * Renews the leases of an engine's running executions, on threads of its own that nothing else uses: purging,
 * listeners of other events and the callers' work never delay it.
 *
 * <p>One timer thread looks at every open lease each tick and never calls the store itself: it hands the
 * renewals that are due to a small pool of caller threads, one call per lease, or one {@code extendAll} call per
 * batch of leases when the store offers {@link BatchExtendingIdempotencyStore}. So one slow call delays only
 * the leases it carries. A call that fails is tried again after the retry delay, not a renewal interval
 * later; a call that has not answered within the renewal timeout is given up on (it keeps its thread until the
 * store answers) and tried again beside it. Such retries go one lease per call, so a slow key in a batch
 * holds up the others once, for at most the timeout. A lease that no renewal could confirm before it ended by the
 * local clock, or that the store says is no longer ours, is marked lost and reported; an execution open past
 * the engine's maximum execution time stops being renewed and is reported as leaked, and one whose execution was
 * garbage-collected unfinished (its {@link Execution} dropped by its caller) is released and reported as leaked.
 *
 * <p>What renewal finds is reported to listeners and observers on a reporting thread of its own, one report at
 * a time, and lease-lost callbacks run on another ({@link CallbackThread}), so that no listener delays the
 * callbacks that stop lost work. A listener, observer or callback that is slow or stuck delays what waits behind
 * it on its thread but no renewal; it is logged (with where it is stuck) once it has run longer than the
 * renewal interval (at least a second), and while a listener holds the reports up, renewal reports beyond
 * {@value #MAX_QUEUED_RENEWAL_REPORTS} waiting are dropped, counted and logged, so that memory stays bounded.
 * Lost and leaked leases are reported once per lease and are never dropped.
 *
 * <p>Everything a store, a listener or a callback throws is caught, logged and survived. Thread-safe.
 */
final class LeaseRenewer implements AutoCloseable {

    /** The most leases one {@code extendAll} call carries. */
    static final int MAX_BATCH = 500;
    /**
     * The most renewal reports (a lease renewed, a renewal failed) that wait for the reporting thread; while that
     * many wait, more are dropped.
     */
    static final int MAX_QUEUED_RENEWAL_REPORTS = 10_000;
    /** How often dropping renewal reports is logged, at most. */
    private static final long DROP_WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final int CALLER_THREADS = 16;
    private static final AtomicInteger ENGINES = new AtomicInteger();

    private final Idempotency engine;
    private final IdempotencyStore store;
    private final @Nullable BatchExtendingIdempotencyStore batchStore;
    private final Set<Lease> leases = ConcurrentHashMap.newKeySet();
    private final ScheduledThreadPoolExecutor timer;
    private final ThreadPoolExecutor callers;
    /**
     * The thread that reports what renewal finds to listeners and observers: application code, which may be slow,
     * never runs on the timer or the caller threads.
     */
    private final CallbackThread reports;
    /** The thread that runs lease-lost callbacks, behind no listener. */
    private final CallbackThread callbacks;
    /** Renewal reports handed to the reporting thread and not run yet. */
    private final AtomicInteger queuedRenewalReports = new AtomicInteger();
    private final AtomicLong droppedRenewalReports = new AtomicLong();
    /** When dropping was last logged ({@link System#nanoTime()}), or 0 before the first drop. */
    private final AtomicLong dropLoggedNanos = new AtomicLong();

    LeaseRenewer(Idempotency engine) {
        this.engine = engine;
        this.store = engine.store;
        this.batchStore = store instanceof BatchExtendingIdempotencyStore batch ? batch : null;
        int id = ENGINES.incrementAndGet();
        this.timer = new ScheduledThreadPoolExecutor(1, daemonThreads("idempotency-renewal-" + id + "-timer"));
        timer.setRemoveOnCancelPolicy(true);
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.callers = new ThreadPoolExecutor(CALLER_THREADS, CALLER_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), daemonThreads("idempotency-renewal-" + id + "-call"));
        callers.allowCoreThreadTimeOut(true);
        long slowNanos = Math.max(engine.renewIntervalNanos, TimeUnit.SECONDS.toNanos(1));
        this.reports = new CallbackThread("idempotency-renewal-" + id + "-reports", "listener or observer",
                "the reports of renewals and of lost and leaked leases", slowNanos);
        this.callbacks = new CallbackThread("idempotency-renewal-" + id + "-callbacks", "lease-lost callback",
                "the other lease-lost callbacks", slowNanos);
        long tick = engine.renewTickNanos;
        timer.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.NANOSECONDS);
    }

    void register(Lease lease) {
        leases.add(lease);
    }

    void unregister(Lease lease) {
        leases.remove(lease);
    }

    /** How many leases are being renewed; for tests. */
    int running() {
        return leases.size();
    }

    /** One look at every lease: drops finished ones, reports lost or overdue ones, dispatches due renewals. */
    private void tick() {
        try {
            long now = System.nanoTime();
            List<Lease> due = new ArrayList<>();
            // with batches, a renewal due within the next quarter interval joins this round's batch
            long early = batchStore != null ? engine.renewIntervalNanos / 4 : 0;
            for (Lease lease : leases) {
                if (!lease.isOpen()) {
                    leases.remove(lease);
                } else if (lease.dropped()) {
                    leases.remove(lease);
                    runInBackground(() -> releaseDropped(lease));
                } else if (now - lease.startNanos >= engine.maxExecutionNanos) {
                    leases.remove(lease);
                    lease.expire("it has been open for longer than the maximum execution time ("
                            + engine.maxExecutionTime + "); its lease is no longer renewed");
                } else if (now - lease.confirmedUntilNanos() >= 0) {
                    leases.remove(lease);
                    lease.lose("no renewal succeeded before the lease ended");
                } else if (now - (lease.nextRenewalNanos - early) >= 0 && callAllowed(lease, now)) {
                    lease.renewalSentNanos = now;
                    due.add(lease);
                }
            }
            if (!due.isEmpty()) {
                dispatch(due, now);
            }
            reports.watch(now);
            callbacks.watch(now);
        } catch (Throwable e) {
            Idempotency.LOG.warn("Lease renewal round failed unexpectedly; the next round runs as usual", e);
        }
    }

    /**
     * Releases the key of an execution that was garbage-collected unfinished, and reports it as {@code LEAKED};
     * on a caller thread, since listeners, observers and the store call may be slow.
     */
    private void releaseDropped(Lease lease) {
        if (!lease.collect()) {
            return;
        }
        report(() -> Observers.end(lease.observation, IdempotencyEvent.Type.LEAKED, null));
        StoreCallObservation call = Observers.call(engine.observer, StoreCall.RELEASE, store);
        boolean released;
        try {
            released = store.release(lease.storedKey, lease.fencingToken);
        } catch (Throwable e) {
            Observers.error(call, e);
            throw e;
        }
        Observers.end(call, Observers.owned(released), 1);
    }

    /** Whether a renewal may be sent now: none is in flight, or the one in flight is past the timeout. */
    private boolean callAllowed(Lease lease, long now) {
        long sent = lease.renewalSentNanos;
        if (sent == 0) {
            return true;
        }
        if (now - sent < engine.renewTimeoutNanos) {
            return false;
        }
        Idempotency.LOG.warn("Lease renewal of operation={} key={} has not answered within {} ms; trying again"
                + " beside it", lease.operation, IdempotencyStoreException.safeKey(lease.key),
                engine.renewTimeoutNanos / 1_000_000);
        lease.renewAlone = true;
        return true;
    }

    /**
     * Hands the due renewals to the caller threads. {@code sent} counts as the moment each call is sent: calls
     * leave a little later, so the lease they confirm is never longer than the store's.
     */
    private void dispatch(List<Lease> due, long sent) {
        List<Lease> batched = new ArrayList<>(batchStore != null ? due.size() : 0);
        for (Lease lease : due) {
            if (batchStore != null && !lease.renewAlone) {
                batched.add(lease);
            } else { // a lease whose last renewal failed or hung goes alone: a slow key must not hold up others
                submit(List.of(lease), sent, () -> renewOne(lease, sent));
            }
        }
        for (int from = 0; from < batched.size(); from += MAX_BATCH) {
            List<Lease> batch = List.copyOf(batched.subList(from, Math.min(batched.size(), from + MAX_BATCH)));
            Runnable call = batch.size() == 1 ? () -> renewOne(batch.get(0), sent) : () -> renewBatch(batch, sent);
            submit(batch, sent, call);
        }
    }

    private void submit(List<Lease> batch, long sent, Runnable call) {
        try {
            callers.execute(call);
        } catch (RejectedExecutionException e) {
            for (Lease lease : batch) { // only after close(): nothing left to renew for
                lease.renewalFailed(sent);
            }
        }
    }

    private void renewOne(Lease lease, long sent) {
        boolean extended;
        StoreCallObservation call = Observers.call(lease.observation, StoreCall.EXTEND);
        try {
            extended = store.extend(lease.storedKey, lease.fencingToken, engine.lease);
        } catch (Throwable e) {
            Observers.error(call, e);
            failed(lease, sent, e);
            return;
        }
        Observers.end(call, Observers.owned(extended), 1);
        answered(lease, sent, extended);
    }

    private void renewBatch(List<Lease> batch, long sent) {
        List<OwnedKey> keys = new ArrayList<>(batch.size());
        for (Lease lease : batch) {
            keys.add(new OwnedKey(lease.storedKey, lease.fencingToken));
        }
        List<Boolean> extended;
        StoreCallObservation call = Observers.call(engine.observer, StoreCall.EXTEND_ALL, store);
        try {
            extended = batchStore.extendAll(keys, engine.lease);
            if (extended.size() != keys.size()) {
                throw new IllegalStateException("extendAll returned " + extended.size() + " outcomes for "
                        + keys.size() + " keys");
            }
        } catch (Throwable e) {
            Observers.error(call, e);
            for (Lease lease : batch) {
                failed(lease, sent, e);
            }
            return;
        }
        Observers.end(call, StoreCallResult.DONE, keys.size());
        for (int i = 0; i < batch.size(); i++) {
            answered(batch.get(i), sent, Boolean.TRUE.equals(extended.get(i)));
        }
    }

    private void answered(Lease lease, long sent, boolean extended) {
        try {
            if (extended) {
                lease.renewed(sent);
                if (lease.isOpen()) {
                    reportRenewal(() -> {
                        engine.emit(IdempotencyEvent.Type.LEASE_RENEWED, lease.operation, lease.key,
                                lease.fencingToken, lease.startNanos, null);
                        Observers.event(lease.observation, IdempotencyEvent.Type.LEASE_RENEWED);
                    });
                }
            } else if (lease.lose("the store answered that its fencing token no longer owns the record (another"
                    + " execution took it over, or it expired)")) {
                leases.remove(lease);
            }
        } catch (Throwable e) {
            Idempotency.LOG.warn("Handling the renewal of key={} failed unexpectedly",
                    IdempotencyStoreException.safeKey(lease.key), e);
        }
    }

    private void failed(Lease lease, long sent, Throwable cause) {
        try {
            lease.renewalFailed(sent);
            if (!lease.isOpen()) {
                return;
            }
            IdempotencyStoreException error = cause instanceof IdempotencyStoreException storeError ? storeError
                    : new IdempotencyStoreException("The idempotency store failed to extend a lease",
                            lease.storedKey, cause);
            reportRenewal(() -> engine.emit(IdempotencyEvent.Type.STORE_ERROR, lease.operation, lease.key,
                    lease.fencingToken, lease.startNanos, error));
            Idempotency.LOG.warn("Lease renewal failed: operation={} key={} token={}: {}; trying again in {} ms",
                    lease.operation, IdempotencyStoreException.safeKey(lease.key), lease.fencingToken,
                    error.getMessage(), engine.renewRetryNanos / 1_000_000);
        } catch (Throwable e) {
            Idempotency.LOG.warn("Handling a failed renewal of key={} failed unexpectedly",
                    IdempotencyStoreException.safeKey(lease.key), e);
        }
    }

    /** Runs a store call for a lease on the renewal threads (the release of a leaked execution). */
    void runInBackground(Runnable call) {
        try {
            callers.execute(() -> {
                try {
                    call.run();
                } catch (Throwable e) {
                    Idempotency.LOG.warn("A background store call failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            Idempotency.LOG.warn("The engine is closed; a background store call was not made");
        }
    }

    /**
     * Reports something renewal found, on the reporting thread: in order, one at a time, whatever it throws
     * logged. After {@link #close()}, on the calling thread. Never dropped: for what happens at most once per
     * lease (lost, leaked).
     */
    void report(Runnable report) {
        reports.execute(report);
    }

    /** Runs a lost lease's callbacks on the callbacks thread (after {@link #close()}, on the calling thread). */
    void runCallbacks(Runnable callbacksOfLease) {
        callbacks.execute(callbacksOfLease);
    }

    /**
     * Reports a renewal (renewed, or failed), unless {@value #MAX_QUEUED_RENEWAL_REPORTS} renewal reports wait
     * already: then it is dropped and counted, and the dropping logged (at most once a minute).
     */
    private void reportRenewal(Runnable report) {
        if (queuedRenewalReports.incrementAndGet() > MAX_QUEUED_RENEWAL_REPORTS) {
            queuedRenewalReports.decrementAndGet();
            long dropped = droppedRenewalReports.incrementAndGet();
            long now = System.nanoTime();
            long logged = dropLoggedNanos.get();
            if ((logged == 0 || now - logged >= DROP_WARNING_INTERVAL_NANOS)
                    && dropLoggedNanos.compareAndSet(logged, now == 0 ? 1 : now)) {
                Idempotency.LOG.warn("The reporting thread of lease renewal is behind: {} renewal reports wait, so"
                        + " renewal events (LEASE_RENEWED, renewal failures) are dropped, {} so far; lost and leaked"
                        + " leases are still reported. A listener or observer is slow or stuck",
                        MAX_QUEUED_RENEWAL_REPORTS, dropped);
            }
            return;
        }
        report(() -> {
            try {
                report.run();
            } finally {
                queuedRenewalReports.decrementAndGet();
            }
        });
    }

    /** Renewal reports dropped because too many waited; for tests. */
    long droppedRenewalReports() {
        return droppedRenewalReports.get();
    }

    /** Reports waiting for the reporting thread; for tests. */
    int queuedReports() {
        return reports.queued();
    }

    /** Stops renewing: leases still open run out at the store as if their owner had stopped. */
    @Override
    public void close() {
        timer.shutdownNow();
        callers.shutdown();
        reports.shutdown(); // what is queued is still reported
        callbacks.shutdown();
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
