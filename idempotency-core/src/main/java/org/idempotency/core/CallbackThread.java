package org.idempotency.core;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One daemon thread that runs application code for lease renewal (listeners and observers, or lease-lost
 * callbacks): one task at a time, in the order handed over, whatever a task throws logged and survived. A task
 * that has run longer than the given limit is logged once, with the thread's stack, so that whoever is stuck
 * there is named. After {@link #shutdown()}, tasks run on the calling thread.
 *
 * <p>Thread-safe; {@link #watch} is called from one thread (the renewal timer).
 */
final class CallbackThread {

    private final ThreadPoolExecutor executor;
    /** What runs here, for the logs: "listener or observer", "lease-lost callback". */
    private final String what;
    /** What waits behind a stuck task, for the logs. */
    private final String behind;
    private final long slowNanos;
    /** When the task running now started ({@link System#nanoTime()}, never 0), or 0 while none runs. */
    private volatile long startedNanos;
    private volatile @Nullable Thread thread;
    /** The start of the last task logged as slow; the watching thread's alone. */
    private long loggedStart;

    /**
     * @param threadName the thread's name
     * @param what what runs on it, for the logs
     * @param behind what waits behind a stuck task, for the logs
     * @param slowNanos how long a task may run before it is logged
     */
    CallbackThread(String threadName, String what, String behind, long slowNanos) {
        this.what = what;
        this.behind = behind;
        this.slowNanos = slowNanos;
        this.executor = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), runnable -> {
            Thread created = new Thread(runnable, threadName);
            created.setDaemon(true);
            return created;
        });
        executor.allowCoreThreadTimeOut(true);
    }

    /** Runs the task after those handed over before it; on the calling thread once shut down. */
    void execute(Runnable task) {
        Runnable guarded = () -> {
            long started = System.nanoTime();
            thread = Thread.currentThread();
            startedNanos = started == 0 ? 1 : started;
            try {
                task.run();
            } catch (Throwable e) {
                Idempotency.LOG.warn("A {} of lease renewal failed; ignored", what, e);
            } finally {
                startedNanos = 0;
            }
        };
        try {
            executor.execute(guarded);
        } catch (RejectedExecutionException e) {
            guarded.run();
        }
    }

    /** Logs the task running now if it has run longer than the limit, once per task, with where it is. */
    void watch(long now) {
        long started = startedNanos;
        Thread running = thread;
        if (started == 0 || running == null || now - started < slowNanos || started == loggedStart) {
            return;
        }
        loggedStart = started;
        IllegalStateException where = new IllegalStateException("where " + running.getName() + " is");
        where.setStackTrace(running.getStackTrace());
        Idempotency.LOG.warn("A {} has run for {} ms on {}; renewal goes on, but {} wait behind it", what,
                TimeUnit.NANOSECONDS.toMillis(now - started), running.getName(), behind, where);
    }

    /** How many tasks wait. */
    int queued() {
        return executor.getQueue().size();
    }

    /** Runs what is queued, then ends the thread; later tasks run on their caller's thread. */
    void shutdown() {
        executor.shutdown();
    }
}
