package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.IndicativeSentencesGeneration;

/**
 * What the store contracts share: a fresh store per case, the way time passes, the store's own clock, and
 * helpers for races and polling. Extend one of the contracts ({@link IdempotencyStoreContract},
 * {@link BatchAcquireContract}, {@link BatchExtendContract}), not this class.
 *
 * <p><b>Time.</b> Expiry cases call {@link #elapse(Duration)}, which sleeps by default; a store with an injectable
 * clock overrides it to move a {@link ManualClock}, and the cases run instantly. The cases never compare the
 * store's times with the test machine's clock: they measure against the store's own time ({@link #storeNow()}),
 * so a store on a clock that stands at any instant passes. Cases that need real time to pass poll with a
 * deadline, and cases that must act inside a takeover window check afterwards, by the store's clock, that they
 * did, and repeat with a new key when a loaded machine overshot it.
 *
 * <p><b>Names.</b> Cases are reported under the concrete test class ({@code RedisStoreContractTest > a key in
 * progress > ...}), so a report says which store each case ran on; give the test class a
 * {@link org.junit.jupiter.api.DisplayName @DisplayName} to choose another name.
 *
 * <p>Each case runs on one thread of JUnit's choosing; the store under test must be thread-safe, as the SPI
 * requires.
 *
 * @param <S> the store type the contract checks
 */
@IndicativeSentencesGeneration(separator = " > ")
public abstract class StoreContractSupport<S extends IdempotencyStore> {

    /** A lease long enough never to expire during a case. */
    protected static final Duration LONG_LEASE = Duration.ofSeconds(60);
    /** A retention long enough never to expire during a case. */
    protected static final Duration LONG_RETENTION = Duration.ofHours(1);
    /** How long the probe records of {@link #storeNow()} stay visible. */
    private static final Duration PROBE_RETENTION = Duration.ofSeconds(30);
    /** How often a case that must act inside a takeover window tries, on a machine too slow to hit it. */
    private static final int WINDOW_ATTEMPTS = 3;

    /** The store under test, fresh for each case. */
    protected S store;

    /** For subclasses. */
    protected StoreContractSupport() {
    }

    /**
     * Returns a store for one case. Called before each case, so fields of the subclass are ready.
     *
     * @return a store that holds none of the keys the case uses (every case uses keys of its own)
     */
    protected abstract S createStore();

    /**
     * Releases what {@link #createStore()} opened; the default closes the store if it is AutoCloseable.
     *
     * @param store the store of the case that ended
     * @throws Exception if closing fails; the case then fails
     */
    protected void closeStore(S store) throws Exception {
        if (store instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    /**
     * Lets the store's clock move forward by {@code duration}. The default sleeps; override for a manual clock.
     *
     * @param duration how far the store's clock must move, at least
     */
    protected void elapse(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while letting time pass", e);
        }
    }

    /**
     * The lease used by expiry cases; the cases let one and a quarter or one and a half of it pass to end it, and
     * two and a half to end the takeover window. Remote stores with a coarse clock, or on a loaded machine, may
     * need a longer one (default 300 ms).
     *
     * @return the lease of the expiry cases
     */
    protected Duration shortLease() {
        return Duration.ofMillis(300);
    }

    /**
     * The store's current time, as the store itself reports it: a probe record is completed with a known
     * retention, and its {@code expiresAt} less that retention is when the store wrote it. The probe uses a key
     * of its own and disappears after 30 s. Override it to read the clock directly (a store on a
     * {@link ManualClock} returns {@code clock.instant()}).
     *
     * @return the store's current time, by the store's clock
     */
    protected Instant storeNow() {
        return storeNow(store);
    }

    /** {@link #storeNow()} of any store. */
    static Instant storeNow(IdempotencyStore store) {
        String probe = "kit-clock:" + UUID.randomUUID();
        AcquireResult acquired = store.acquire(probe, null, LONG_LEASE);
        assertThat(acquired).as("acquire of a fresh probe key, to read the store's clock")
                .isInstanceOf(AcquireResult.Acquired.class);
        long token = ((AcquireResult.Acquired) acquired).fencingToken();
        assertThat(store.complete(probe, token, StoredResult.of(new byte[0]), PROBE_RETENTION))
                .as("completion of a probe key, to read the store's clock").isTrue();
        IdempotencyRecord record = store.find(probe).orElseThrow(
                () -> new AssertionError("the probe record completed to read the store's clock is not found"));
        return record.expiresAt().minus(PROBE_RETENTION);
    }

    @BeforeEach
    void createStoreForCase() {
        store = createStore();
    }

    @AfterEach
    void closeStoreAfterCase() throws Exception {
        closeStore(store);
    }

    /**
     * A key nobody else uses.
     *
     * @return a new key, unique to the call
     */
    protected static String newKey() {
        return "kit:" + UUID.randomUUID();
    }

    /** Acquires a key that must be free, and returns the outcome. */
    AcquireResult.Acquired acquireFresh(String key, @Nullable String hash, Duration lease) {
        AcquireResult result = store.acquire(key, hash, lease);
        assertThat(result).as("acquire of a free key").isInstanceOf(AcquireResult.Acquired.class);
        return (AcquireResult.Acquired) result;
    }

    /** The record an acquire of a held key returned. */
    static IdempotencyRecord existing(AcquireResult result) {
        assertThat(result).as("acquire of a held key").isInstanceOf(AcquireResult.Existing.class);
        return ((AcquireResult.Existing) result).record();
    }

    /** A pause that ends a lease of {@link #shortLease()} and leaves most of its takeover window. */
    Duration leaseEndPause() {
        return shortLease().plus(shortLease().dividedBy(4));
    }

    /** A pause that ends a lease of {@link #shortLease()}, to the middle of its takeover window. */
    Duration expiredLeasePause() {
        return shortLease().plus(shortLease().dividedBy(2));
    }

    /** A pause that ends a lease of {@link #shortLease()} and its takeover window. */
    Duration pastWindowPause() {
        return shortLease().multipliedBy(2).plus(shortLease().dividedBy(2));
    }

    /** What a case does on a record whose lease has ended: the operations, then the checks to apply to them. */
    @FunctionalInterface
    interface WindowCase {
        /**
         * Runs the operations on {@code key} (acquired with {@code token}) and returns the checks; the checks run
         * only if the operations stayed within the takeover window.
         */
        Runnable act(String key, long token) throws Exception;
    }

    /**
     * Runs a case on a record whose lease has ended but which is still in its takeover window: acquires a key with
     * {@link #shortLease()} and {@code hash}, lets one and a half leases pass, runs the operations, and applies
     * the checks if the store's clock says the operations happened before the window closed; otherwise (a loaded
     * machine stalled the case) it starts again with a new key, see {@link #beforeDeadline}.
     */
    void inTakeoverWindow(@Nullable String hash, WindowCase windowCase) throws Exception {
        beforeDeadline(() -> {
            String key = newKey();
            long token = acquireFresh(key, hash, shortLease()).fencingToken();
            IdempotencyRecord record = store.find(key).orElseThrow(
                    () -> new AssertionError("a record just acquired is not found"));
            elapse(expiredLeasePause());
            // the window the SPI promises, whatever the store reports
            return new Deadlined(record.leaseExpiresAt().plus(shortLease()), windowCase.act(key, token));
        });
    }

    /** The checks of one attempt, and the store time before which its operations must have happened. */
    record Deadlined(Instant deadline, Runnable checks) {
    }

    /** One attempt of a case whose operations must happen before a deadline by the store's clock. */
    @FunctionalInterface
    interface TimedAttempt {
        Deadlined run() throws Exception;
    }

    /**
     * Runs an attempt of a case whose operations must happen before a deadline by the store's clock (within a
     * takeover window), and applies its checks if they did. If the store's clock had passed the deadline, a
     * loaded machine stalled the case and the checks would not mean anything: the attempt is repeated (it
     * creates new keys), at most three times in all.
     */
    void beforeDeadline(TimedAttempt attempt) throws Exception {
        for (int round = 1; ; round++) {
            Deadlined outcome = attempt.run();
            if (storeNow().isBefore(outcome.deadline())) {
                outcome.checks().run();
                return;
            }
            if (round == WINDOW_ATTEMPTS) {
                throw new AssertionError("The case overshot its takeover window " + WINDOW_ATTEMPTS
                        + " times in a row (the machine is too slow for a lease of " + shortLease()
                        + "); override shortLease() with a longer one");
            }
        }
    }

    /**
     * Polls until the condition holds, failing after a deadline of 10 s; for stores whose clock cannot be moved.
     *
     * @param what the awaited state, for the failure message
     * @param condition whether the state is reached
     * @throws AssertionError if the condition does not hold within the deadline
     */
    protected static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after 10 s waiting until " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    /**
     * Runs the task on {@code threads} threads released at once and collects the results.
     *
     * @param <T> the task's result type
     * @param threads how many threads run the task
     * @param task the task, run once on each thread
     * @return the results, one per thread
     * @throws Exception what a task threw (wrapped in an {@link java.util.concurrent.ExecutionException}), or a
     *     timeout after 60 s
     */
    protected static <T> List<T> race(int threads, Callable<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch ready = new CountDownLatch(threads);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    go.await();
                    return task.call();
                }));
            }
            ready.await();
            go.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                results.add(future.get(60, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
