package org.idempotency.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Renews the leases of running executions. Executions register when they start and leave when they finish;
 * one periodic sweep renews those whose last renewal is a renewal interval old. Registering costs a set
 * insertion on the caller's thread, instead of a scheduled task per execution (which wakes the scheduler
 * thread twice per call and dominated the cost of short work).
 *
 * <p>The sweep runs every quarter of the renewal interval, so a lease is renewed between one and one and a
 * quarter renewal intervals after its last renewal: with the default interval of a third of the lease, more
 * than half of the lease is still left. Thread-safe.
 */
final class LeaseRenewer implements AutoCloseable {

    private final Set<Execution<?>> running = ConcurrentHashMap.newKeySet();
    private final long intervalNanos;
    private final ScheduledFuture<?> sweep;

    LeaseRenewer(ScheduledExecutorService scheduler, long intervalNanos) {
        this.intervalNanos = intervalNanos;
        long tick = Math.max(intervalNanos / 4, TimeUnit.MILLISECONDS.toNanos(1));
        this.sweep = scheduler.scheduleWithFixedDelay(this::sweep, tick, tick, TimeUnit.NANOSECONDS);
    }

    void register(Execution<?> execution) {
        running.add(execution);
    }

    void unregister(Execution<?> execution) {
        running.remove(execution);
    }

    /** How many executions are being renewed; for tests. */
    int running() {
        return running.size();
    }

    private void sweep() {
        for (Execution<?> execution : running) {
            long now = System.nanoTime();
            if (now - execution.lastRenewedNanos() >= intervalNanos) {
                try {
                    execution.renew(now);
                } catch (RuntimeException e) {
                    Idempotency.LOG.warn("Lease renewal failed unexpectedly for key={}", execution.key(), e);
                }
            }
        }
    }

    @Override
    public void close() {
        sweep.cancel(false);
    }
}
