package org.idempotency.core;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Purges expired records of a {@link PurgeableIdempotencyStore} at a fixed delay. {@link Idempotency}
 * starts one by default, on a thread of its own that nothing else uses (a purge of a large backlog can take
 * long; it never delays lease renewal); start one yourself when purging runs apart from the engine (a single
 * maintenance node, say). A failed purge, whatever it throws, is logged at WARN and tried again at the next
 * interval. {@link #close()} stops it and waits for a purge in progress to end.
 *
 * <p>Thread-safe.
 */
public final class PurgeScheduler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PurgeScheduler.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final PurgeableIdempotencyStore store;
    private final IdempotencyObserver observer;
    private final @Nullable ScheduledExecutorService ownExecutor;
    private final ScheduledFuture<?> task;
    private final ReentrantLock running = new ReentrantLock();
    private volatile boolean closed;

    private PurgeScheduler(PurgeableIdempotencyStore store, Duration interval, ScheduledExecutorService executor,
            boolean ownsExecutor, IdempotencyObserver observer) {
        this.store = store;
        this.observer = observer;
        this.ownExecutor = ownsExecutor ? executor : null;
        long nanos = interval.toNanos();
        this.task = executor.scheduleWithFixedDelay(this::purgeOnce, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Purges every {@code interval} on a daemon thread of its own.
     *
     * @param store the store to purge
     * @param interval the delay between the end of one purge and the start of the next; positive
     * @return the running scheduler; close it to stop purging
     */
    public static PurgeScheduler start(PurgeableIdempotencyStore store, Duration interval) {
        return start(store, interval, Observers.NOOP);
    }

    /** Purges on a daemon thread of its own, each purge observed as a store call: the engine's purging. */
    static PurgeScheduler start(PurgeableIdempotencyStore store, Duration interval, IdempotencyObserver observer) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "idempotency-purge-" + THREADS.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        return new PurgeScheduler(checked(store), checked(interval), executor, true, observer);
    }

    /**
     * Purges every {@code interval} on the given scheduler, which it does not shut down.
     *
     * @param store the store to purge
     * @param interval the delay between the end of one purge and the start of the next; positive
     * @param scheduler the scheduler the purges run on; still the caller's to shut down
     * @return the running scheduler; close it to stop purging
     */
    public static PurgeScheduler start(PurgeableIdempotencyStore store, Duration interval,
            ScheduledExecutorService scheduler) {
        return new PurgeScheduler(checked(store), checked(interval), Objects.requireNonNull(scheduler, "scheduler"),
                false, Observers.NOOP);
    }

    /**
     * Runs one purge now, on the calling thread (skipped if the scheduler is closed).
     *
     * @return the number of records removed
     */
    public long purgeNow() {
        running.lock();
        try {
            if (closed) {
                return 0;
            }
            StoreCallObservation call = Observers.call(observer, StoreCall.PURGE, store);
            long removed;
            try {
                removed = store.purgeExpired();
            } catch (Throwable e) {
                Observers.error(call, e);
                throw e;
            }
            Observers.end(call, StoreCallResult.DONE, removed);
            LOG.debug("Purged {} expired idempotency records", removed);
            return removed;
        } finally {
            running.unlock();
        }
    }

    private void purgeOnce() {
        try {
            purgeNow();
        } catch (Throwable e) { // an Error too: a failed purge must not end the schedule
            LOG.warn("Purging expired idempotency records failed; trying again at the next interval", e);
        }
    }

    /** Stops purging; waits for a purge in progress to finish. */
    @Override
    public void close() {
        closed = true;
        task.cancel(false);
        running.lock(); // a purge in progress ends before close returns
        running.unlock();
        if (ownExecutor != null) {
            ownExecutor.shutdownNow();
        }
    }

    private static Duration checked(Duration interval) {
        Objects.requireNonNull(interval, "interval must not be null");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("the purge interval must be positive, was " + interval);
        }
        return interval;
    }

    private static PurgeableIdempotencyStore checked(PurgeableIdempotencyStore store) {
        return Objects.requireNonNull(store, "store must not be null");
    }
}
