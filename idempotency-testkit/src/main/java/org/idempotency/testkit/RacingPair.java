package org.idempotency.testkit;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Two operations started together, round after round, to catch a store whose operation is not atomic (a read,
 * then a write a round trip later). In each round one of the two gets a head start of 0 to 700 microseconds,
 * alternating between them and stepping through the offsets, so that over the rounds every order and overlap is
 * tried whatever the store's round-trip time.
 *
 * <p>Not thread-safe: one case drives it from its own thread.
 */
final class RacingPair implements AutoCloseable {

    /** Rounds a racing case runs: enough that a store with a read-write gap of a round trip loses one. */
    static final int ROUNDS = 64;

    private static final long STEP_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
    private static final int STEPS = 8;

    /** What the two operations returned in one round. */
    record Outcome<A, B>(A first, B second) {
    }

    private final ExecutorService pool = Executors.newFixedThreadPool(2, task -> {
        Thread thread = new Thread(task, "kit-racing-pair");
        thread.setDaemon(true);
        return thread;
    });

    /** Runs both operations at about the same time, the head start chosen by {@code round}, and returns both results. */
    <A, B> Outcome<A, B> race(int round, Callable<A> first, Callable<B> second) throws Exception {
        long headStart = STEP_NANOS * ((round / 2) % STEPS);
        long firstDelay = round % 2 == 0 ? 0 : headStart;
        long secondDelay = round % 2 == 0 ? headStart : 0;
        CountDownLatch go = new CountDownLatch(1);
        Future<A> a = pool.submit(() -> {
            go.await();
            spin(firstDelay);
            return first.call();
        });
        Future<B> b = pool.submit(() -> {
            go.await();
            spin(secondDelay);
            return second.call();
        });
        go.countDown();
        return new Outcome<>(get(a), get(b));
    }

    private static <T> T get(Future<T> future) throws Exception {
        try {
            return future.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new AssertionError("a racing store operation did not return within 60 s", e);
        }
    }

    private static void spin(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() - until < 0) {
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
