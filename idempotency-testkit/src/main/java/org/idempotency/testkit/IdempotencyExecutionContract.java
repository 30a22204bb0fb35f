package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.TypeRef;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.BeginOutcome;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGenerator.IndicativeSentences.SentenceFragment;
import org.junit.jupiter.api.IndicativeSentencesGeneration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The execution contract: {@link Idempotency} behaves as documented end to end over a store, through
 * {@code execute} and through batch claims ({@code beginAll}, which uses the store's batch acquire when it has
 * one). Extend it and return a store from {@link #createStore()}; the cases run real time (short leases, polling
 * with deadlines, margins of a second where a loaded machine could stall a lease), because lease renewal runs on
 * real time whatever the store's clock. Cases are reported under the concrete test class
 * ({@code RedisExecutionContractTest > leases > ...}).
 *
 * <pre>{@code
 * class MyStoreExecutionTest extends IdempotencyExecutionContract {
 *     protected IdempotencyStore createStore() {
 *         return new MyStore(...);
 *     }
 * }
 * }</pre>
 */
@IndicativeSentencesGeneration(separator = " > ")
public abstract class IdempotencyExecutionContract {

    /** For subclasses. */
    protected IdempotencyExecutionContract() {
    }

    /**
     * Returns a store on a real clock for one case. Called before each case.
     *
     * @return a store that holds none of the keys the case uses (every case uses keys of its own)
     */
    protected abstract IdempotencyStore createStore();

    /**
     * Releases what {@link #createStore()} opened; the default closes the store if it is AutoCloseable.
     *
     * @param store the store of the case that ended
     * @throws Exception if closing fails; the case then fails
     */
    protected void closeStore(IdempotencyStore store) throws Exception {
        if (store instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    /** The store under test, wrapped so that cases can inject faults and count calls. */
    protected FaultInjectingStore store;
    private IdempotencyStore rawStore;
    private final List<Idempotency> engines = new CopyOnWriteArrayList<>();
    private final List<IdempotencyEvent> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void createStoreForCase() {
        rawStore = createStore();
        store = FaultInjectingStore.wrap(rawStore);
    }

    @AfterEach
    void closeAfterCase() throws Exception {
        engines.forEach(Idempotency::close);
        closeStore(rawStore);
    }

    /**
     * An engine over the case's store that records its events; closed after the case.
     *
     * @param configure what the case sets on the builder
     * @return the engine
     */
    protected Idempotency engine(java.util.function.UnaryOperator<Idempotency.Builder> configure) {
        Idempotency engine = configure.apply(Idempotency.builder(store).listener(events::add)).build();
        engines.add(engine);
        return engine;
    }

    private Idempotency engine() {
        return engine(b -> b);
    }

    /**
     * How many keys the "many distinct keys" case spreads over 8 threads, each thread calling every key: 10,000 by
     * default. An adapter that runs the contract through an entry point of its own (see {@link #execute}) over a
     * remote store may lower it, since the engine's own run of the contract over that store covers the full count.
     *
     * @return the number of keys, at least 8
     */
    protected int manyKeysCount() {
        return 10_000;
    }

    /**
     * Runs work once per key through {@code operation}: every case sends its work through this method,
     * {@link #call} and {@link #run}. The defaults call the operation itself. An adapter that offers another entry
     * point to the same engine (an annotation, a framework integration) overrides the three to send the work
     * through that entry point, with the same operation (name, engine, result type), key and request hash, and
     * every case then checks the adapter end to end.
     *
     * @param <T> the result type
     * @param operation the case's operation
     * @param key the key, possibly invalid (the cases check that bad keys are refused before any store call)
     * @param requestHash the request hash, or {@code null}
     * @param work the work, possibly {@code null} (refused before any store call)
     * @return what {@link IdempotentOperation#execute} returns
     */
    protected <T> T execute(IdempotentOperation<T> operation, String key, @Nullable String requestHash,
            Supplier<? extends T> work) {
        return operation.execute(key, requestHash, work);
    }

    /**
     * Like {@link #execute}, for work that throws checked exceptions: see {@link IdempotentOperation#call}.
     *
     * @param <T> the result type
     * @param operation the case's operation
     * @param key the key
     * @param requestHash the request hash, or {@code null}
     * @param work the work
     * @return what {@link IdempotentOperation#call} returns
     * @throws Exception the work's exception, unchanged
     */
    protected <T> T call(IdempotentOperation<T> operation, String key, @Nullable String requestHash,
            Callable<? extends T> work) throws Exception {
        return operation.call(key, requestHash, work);
    }

    /**
     * Like {@link #execute}, for work without a result: see {@link IdempotentOperation#run}.
     *
     * @param operation the case's operation
     * @param key the key
     * @param requestHash the request hash, or {@code null}
     * @param work the work, possibly {@code null} (refused before any store call)
     */
    protected void run(IdempotentOperation<?> operation, String key, @Nullable String requestHash, Runnable work) {
        operation.run(key, requestHash, work);
    }

    private static String newKey() {
        return "key-" + UUID.randomUUID();
    }

    private static String newOperation() {
        return "kit-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private List<IdempotencyEvent.Type> eventTypes(String key) {
        List<IdempotencyEvent.Type> types = new ArrayList<>();
        for (IdempotencyEvent event : events) {
            if (event.key().equals(key)) {
                types.add(event.type());
            }
        }
        return types;
    }

    /** A result type for the cases: a record, as users' results often are. */
    public record Order(String id, long amountCents, List<String> items) {
    }

    @Nested
    @SentenceFragment("a first call and its repeats")
    class FirstCallAndReplay {

        @Test
        @SentenceFragment("run the work once and replay an equal result of the declared type")
        void replayEquality() {
            IdempotentOperation<Order> op = engine().operation(newOperation(), Order.class);
            AtomicInteger runs = new AtomicInteger();
            String key = newKey();
            Supplier<Order> work = () -> new Order("o-" + runs.incrementAndGet(), 1999, List.of("book", "pen"));

            Order first = execute(op, key, "h1", work);
            Order second = execute(op, key, "h1", work);
            Order third = execute(op, key, "h1", work);

            assertThat(runs).hasValue(1);
            assertThat(second).isEqualTo(first).isInstanceOf(Order.class);
            assertThat(third).isEqualTo(first);
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.ACQUIRED,
                    IdempotencyEvent.Type.COMPLETED, IdempotencyEvent.Type.REPLAYED, IdempotencyEvent.Type.REPLAYED);
        }

        @Test
        @SentenceFragment("replay generic results with their element types")
        void genericReplay() {
            IdempotentOperation<List<Order>> op = engine().operation(newOperation(), new TypeRef<List<Order>>() { });
            String key = newKey();
            execute(op, key, "h", () -> List.of(new Order("a", 1, List.of()), new Order("b", 2, List.of("x"))));

            List<Order> replayed = execute(op, key, "h", () -> {
                throw new AssertionError("must not run");
            });

            assertThat(replayed).hasSize(2);
            assertThat(replayed.get(1)).isInstanceOf(Order.class).isEqualTo(new Order("b", 2, List.of("x")));
        }

        @Test
        @SentenceFragment("replay maps with generic values")
        void genericMapReplay() {
            IdempotentOperation<Map<String, List<Long>>> op =
                    engine().operation(newOperation(), new TypeRef<Map<String, List<Long>>>() { });
            String key = newKey();
            execute(op, key, "h", () -> Map.of("a", List.of(1L, 2L)));

            Map<String, List<Long>> replayed = execute(op, key, "h", () -> Map.of());

            assertThat(replayed.get("a")).containsExactly(1L, 2L);
            assertThat(replayed.get("a").get(0)).isInstanceOf(Long.class);
        }

        @Test
        @SentenceFragment("replay a null result as null, without running the work")
        void nullResult() {
            IdempotentOperation<Order> op = engine().operation(newOperation(), Order.class);
            AtomicInteger runs = new AtomicInteger();
            String key = newKey();

            assertThat(execute(op, key, "h", () -> {
                runs.incrementAndGet();
                return null;
            })).isNull();
            assertThat(execute(op, key, "h", () -> {
                runs.incrementAndGet();
                return new Order("x", 1, List.of());
            })).isNull();
            assertThat(runs).hasValue(1);
        }

        @Test
        @SentenceFragment("run void work (a Runnable) once")
        void runnableOnce() {
            IdempotentOperation<Void> op = engine().operation(newOperation());
            AtomicInteger runs = new AtomicInteger();
            String key = newKey();

            run(op, key, "h", runs::incrementAndGet);
            run(op, key, "h", runs::incrementAndGet);

            assertThat(runs).hasValue(1);
        }

        @Test
        @SentenceFragment("with a null request hash skip the reuse check")
        void nullHashSkipsCheck() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            execute(op, key, "h1", () -> "first");

            assertThat(execute(op, key, null, () -> "second")).isEqualTo("first");
        }

        @Test
        @SentenceFragment("keep operations apart: the same key in two operations runs both")
        void operationsAreNamespaces() {
            Idempotency engine = engine();
            IdempotentOperation<String> a = engine.operation(newOperation(), String.class);
            IdempotentOperation<String> b = engine.operation(newOperation(), String.class);
            String key = newKey();

            assertThat(execute(a, key, "h", () -> "a")).isEqualTo("a");
            assertThat(execute(b, key, "h", () -> "b")).isEqualTo("b");
        }
    }

    @Nested
    @SentenceFragment("a key reused with a different request")
    class KeyReuse {

        @Test
        @SentenceFragment("is refused after completion, without running the work")
        void completed() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            execute(op, key, "h1", () -> "done");

            assertThatThrownBy(() -> execute(op, key, "h2", () -> {
                throw new AssertionError("must not run");
            })).isInstanceOfSatisfying(IdempotencyKeyReusedException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(422);
                assertThat(e.existingStatus()).isEqualTo(RecordStatus.COMPLETED);
                assertThat(e.getMessage()).contains(key);
            });
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.KEY_REUSED);
        }

        @Test
        @SentenceFragment("is refused while the first request is in progress")
        void inProgress() throws Exception {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            try (Blocked blocked = block(op, key, "h1")) {
                assertThatThrownBy(() -> execute(op, key, "h2", () -> "other"))
                        .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                                e -> assertThat(e.existingStatus()).isEqualTo(RecordStatus.IN_PROGRESS));
                blocked.release();
                assertThat(blocked.result()).as("the first request still completes").isEqualTo("blocked-result");
            }
        }

        @Test
        @SentenceFragment("is refused after a recorded failure")
        void failed() {
            IdempotentOperation<String> op = engine(b -> b.permanentFailure(e -> e instanceof IllegalStateException))
                    .operation(newOperation(), String.class);
            String key = newKey();
            assertThatThrownBy(() -> execute(op, key, "h1", () -> {
                throw new IllegalStateException("declined");
            })).isInstanceOf(IllegalStateException.class);

            assertThatThrownBy(() -> execute(op, key, "h2", () -> "x"))
                    .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                            e -> assertThat(e.existingStatus()).isEqualTo(RecordStatus.FAILED));
        }
    }

    @Nested
    @SentenceFragment("a duplicate while the first call runs")
    class Duplicates {

        @Test
        @SentenceFragment("gets an in-progress error with a retry hint of between 1 s and one lease")
        void inProgressError() throws Exception {
            Idempotency engine = engine();
            IdempotentOperation<String> op = engine.operation(newOperation(), String.class);
            String key = newKey();
            Duration ceiling = engine.lease().compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
                    : engine.lease();
            try (Blocked blocked = block(op, key, "h")) {
                assertThatThrownBy(() -> execute(op, key, "h", () -> "dup"))
                        .isInstanceOfSatisfying(IdempotencyInProgressException.class, e -> {
                            assertThat(e.httpStatus()).isEqualTo(409);
                            assertThat(e.retryAfter()).isBetween(Duration.ofSeconds(1), ceiling);
                        });
                blocked.release();
                assertThat(blocked.result()).isEqualTo("blocked-result");
            }
            assertThat(execute(op, key, "h", () -> "again")).isEqualTo("blocked-result");
        }

        @Test
        @SentenceFragment("waits, when configured, and gets the first call's result")
        void waitsForResult() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.waitForInProgress(Duration.ofSeconds(10)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            try (Blocked blocked = block(op, key, "h")) {
                ExecutorService pool = Executors.newSingleThreadExecutor();
                try {
                    Future<String> waiter = pool.submit(() -> execute(op, key, "h", () -> "duplicate ran"));
                    Thread.sleep(100);
                    assertThat(waiter).isNotDone();
                    blocked.release();
                    assertThat(waiter.get(10, TimeUnit.SECONDS)).isEqualTo("blocked-result");
                } finally {
                    pool.shutdownNow();
                }
            }
        }

        @Test
        @SentenceFragment("that waits too long gets an in-progress error after the wait")
        void waitEnds() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.waitForInProgress(Duration.ofMillis(200)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            try (Blocked blocked = block(op, key, "h")) {
                long start = System.nanoTime();
                assertThatThrownBy(() -> execute(op, key, "h", () -> "dup"))
                        .isInstanceOf(IdempotencyInProgressException.class);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(190));
                blocked.release();
                assertThat(blocked.result()).isEqualTo("blocked-result");
            }
        }
    }

    @Nested
    @SentenceFragment("a failing call")
    class Failures {

        @Test
        @SentenceFragment("releases the key and rethrows the original exception, so a retry runs again")
        void releaseOnException() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            RuntimeException boom = new IllegalArgumentException("boom");

            assertThatThrownBy(() -> execute(op, key, "h", () -> {
                throw boom;
            })).isSameAs(boom);

            assertThat(op.find(key)).isEmpty();
            assertThat(execute(op, key, "h", () -> "retried")).isEqualTo("retried");
            assertThat(eventTypes(key)).containsSubsequence(IdempotencyEvent.Type.ACQUIRED,
                    IdempotencyEvent.Type.RELEASED, IdempotencyEvent.Type.ACQUIRED, IdempotencyEvent.Type.COMPLETED);
        }

        @Test
        @SentenceFragment("with a checked exception rethrows it as is")
        void checkedException() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            Exception checked = new java.io.IOException("disk full");

            assertThatThrownBy(() -> call(op, key, "h", () -> {
                throw checked;
            })).isSameAs(checked);
            assertThat(op.find(key)).isEmpty();
        }

        @Test
        @SentenceFragment("marked permanent is recorded and replayed without running the work")
        void permanentFailure() {
            IdempotentOperation<String> op = engine(b -> b.permanentFailure(e -> e instanceof IllegalStateException))
                    .operation(newOperation(), String.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();

            assertThatThrownBy(() -> execute(op, key, "h", () -> {
                runs.incrementAndGet();
                throw new IllegalStateException("card declined");
            })).isInstanceOf(IllegalStateException.class);

            assertThatThrownBy(() -> execute(op, key, "h", () -> {
                runs.incrementAndGet();
                return "x";
            })).isInstanceOfSatisfying(IdempotencyReplayedFailureException.class, e -> {
                assertThat(e.errorType()).isEqualTo(IllegalStateException.class.getName());
                assertThat(e.errorMessage()).isEqualTo("card declined");
            });
            assertThat(runs).hasValue(1);
            assertThat(op.find(key).orElseThrow().status()).isEqualTo(RecordStatus.FAILED);
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.FAILURE_RECORDED,
                    IdempotencyEvent.Type.FAILURE_REPLAYED);
        }
    }

    @Nested
    @SentenceFragment("leases")
    class Leases {

        @Test
        @SentenceFragment("are renewed while long work runs, so a duplicate cannot take it over")
        void renewalKeepsLongWorkSafe() throws Exception {
            // a lease of a second: a loaded machine may stall the renewal thread for a good part of it
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofSeconds(1)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();
            try (Blocked blocked = block(op, key, "h", runs)) {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500);
                int conflicts = 0;
                while (System.nanoTime() - until < 0) {
                    try {
                        execute(op, key, "h", () -> "duplicate ran " + runs.incrementAndGet());
                    } catch (IdempotencyInProgressException expected) {
                        conflicts++;
                    }
                    Thread.sleep(50);
                }
                blocked.release();
                assertThat(blocked.result()).isEqualTo("blocked-result");
                assertThat(conflicts).isPositive();
            }
            assertThat(runs).hasValue(1);
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.LEASE_RENEWED)
                    .doesNotContain(IdempotencyEvent.Type.TAKEOVER, IdempotencyEvent.Type.LEASE_LOST);
            assertThat(execute(op, key, "h", () -> "x")).isEqualTo("blocked-result");
        }

        @Test
        @SentenceFragment("of a crashed owner are taken over after they expire")
        void takeoverAfterCrash() {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofSeconds(5)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            // a crashed owner: acquired with a lease of a second (so that the first duplicate below surely comes
            // before it ends) and never finished
            assertThat(store.acquire(op.storedKey(key), "h", Duration.ofSeconds(1)))
                    .isInstanceOf(AcquireResult.Acquired.class);

            assertThatThrownBy(() -> execute(op, key, "h", () -> "too early"))
                    .isInstanceOf(IdempotencyInProgressException.class);
            IdempotencyStoreContract.eventually("the crashed owner's lease is taken over", () -> {
                try {
                    return execute(op, key, "h", () -> "recovered").equals("recovered");
                } catch (IdempotencyInProgressException stillLive) {
                    return false;
                }
            });
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.TAKEOVER);
            assertThat(execute(op, key, "h", () -> "again")).isEqualTo("recovered");
        }

        @Test
        @SentenceFragment("lost by a stalled owner keep its late result from overwriting the new owner's")
        void staleOwnerCannotOverwrite() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(600)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            store.failAlways(FaultInjectingStore.Operation.EXTEND); // the stalled owner cannot renew
            CountDownLatch stalled = new CountDownLatch(1);
            CountDownLatch finish = new CountDownLatch(1);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<String> staleOwner = pool.submit(() -> execute(op, key, "h", () -> {
                    stalled.countDown();
                    await(finish);
                    return "stale";
                }));
                assertThat(stalled.await(10, TimeUnit.SECONDS)).isTrue();
                IdempotencyStoreContract.eventually("a new owner takes over and completes", () -> {
                    try {
                        return execute(op, key, "h", () -> "fresh").equals("fresh");
                    } catch (IdempotencyInProgressException stillLive) {
                        return false;
                    }
                });
                finish.countDown();

                assertThat(staleOwner.get(10, TimeUnit.SECONDS)).as("the stale owner still gets its own result")
                        .isEqualTo("stale");
            } finally {
                pool.shutdownNow();
            }
            store.heal();
            assertThat(execute(op, key, "h", () -> "x")).isEqualTo("fresh");
            // the new owner normally takes the expired lease over; on a badly stalled machine the abandoned
            // record may even outlive its takeover window and be acquired afresh: both are a new token
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.LEASE_LOST);
            assertThat(eventTypes(key)).filteredOn(type -> type == IdempotencyEvent.Type.TAKEOVER
                    || type == IdempotencyEvent.Type.ACQUIRED).hasSize(2);
        }
    }

    @Nested
    @SentenceFragment("while its owner lives, the work runs once")
    class OwnerLifetime {

        @Test
        @SentenceFragment("a purge slower than the lease holds up no renewal: duplicates cannot take the work over")
        void slowPurgeDoesNotStarveRenewal() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(1000))
                    .purgeInterval(Duration.ofMillis(20))).operation(newOperation(), String.class);
            store.delay(FaultInjectingStore.Operation.PURGE, Duration.ofMillis(2500));
            String key = newKey();

            assertHeldWhileRunning(op, key, Duration.ofMillis(2000));

            assertThat(store.calls(FaultInjectingStore.Operation.PURGE)).as("a purge was running").isPositive();
        }

        @Test
        @SentenceFragment("one slow renewal call holds up no other execution's lease")
        void slowRenewalDelaysNoOther() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(1000)))
                    .operation(newOperation(), String.class);
            String slowKey = newKey();
            String slowStored = op.storedKey(slowKey);
            store.delay(FaultInjectingStore.Operation.EXTEND, Duration.ofSeconds(3), slowStored::equals);
            try (Blocked slow = block(op, slowKey, "h")) {
                assertHeldWhileRunning(op, newKey(), Duration.ofMillis(2000));
                slow.release();
            }
        }

        @Test
        @SentenceFragment("a listener that is slow delays no lease: what renewal reports, it reports on a thread of its own")
        void slowListenerDelaysNoLease() throws Exception {
            CountDownLatch listenerReleased = new CountDownLatch(1);
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(1000)).listener(event -> {
                if (event.type() == IdempotencyEvent.Type.LEASE_LOST) {
                    try { // a listener that takes its time over the loss of another execution's lease
                        listenerReleased.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            })).operation(newOperation(), String.class);
            String lostKey = newKey();
            String lostStored = op.storedKey(lostKey);
            store.delay(FaultInjectingStore.Operation.EXTEND, Duration.ofSeconds(3), lostStored::equals);
            String key = newKey();
            try (Blocked lost = block(op, lostKey, "h")) {
                try {
                    // the first lease is lost after one lease, and its listener then blocks for the rest of the run
                    assertRunsOnceWhileDuplicatesCall(op, key, Duration.ofMillis(2500));
                } finally {
                    listenerReleased.countDown(); // before the lost execution finishes, which reports its loss too
                }
                lost.release();
            }
            IdempotencyStoreContract.eventually("the queued reports are delivered once the listener returns",
                    () -> eventTypes(key).contains(IdempotencyEvent.Type.COMPLETED)
                            && eventTypes(key).contains(IdempotencyEvent.Type.LEASE_RENEWED)
                            && eventTypes(lostKey).contains(IdempotencyEvent.Type.LEASE_LOST));
            assertThat(eventTypes(key)).doesNotContain(IdempotencyEvent.Type.TAKEOVER,
                    IdempotencyEvent.Type.LEASE_LOST);
        }

        @Test
        @SentenceFragment("renewals answered late but within the renewal budget (lease minus interval) keep the lease")
        void lateRenewalsWithinBudgetKeepTheLease() throws Exception {
            // L = 2 s and I = 0.5 s: a budget of 1.5 s. Every renewal answers after 0.6 s (plus the store's own
            // time), past the renewal timeout (I/2), so each is also tried again beside itself.
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(2000))
                    .renewInterval(Duration.ofMillis(500))).operation(newOperation(), String.class);
            store.delay(FaultInjectingStore.Operation.EXTEND, Duration.ofMillis(600));

            assertHeldWhileRunning(op, newKey(), Duration.ofMillis(4000));
        }

        @Test
        @SentenceFragment("renewals that never answer: the lease is reported lost by the time it ends, not later")
        void unansweredRenewalsLoseTheLeaseInTime() throws Exception {
            Duration lease = Duration.ofMillis(1000);
            IdempotentOperation<String> op = engine(b -> b.lease(lease)).operation(newOperation(), String.class);
            store.delay(FaultInjectingStore.Operation.EXTEND, Duration.ofSeconds(10));
            String key = newKey();
            long begun = System.nanoTime();
            try (Execution<String> execution = op.begin(key, "h")) {
                assertThat(execution.isOwner()).isTrue();
                while (!execution.isLeaseLost()) {
                    assertThat(Duration.ofNanos(System.nanoTime() - begun))
                            .as("the lease is seen lost soon after it ends").isLessThan(lease.multipliedBy(3));
                    sleepQuietly(10);
                }
                assertThat(Duration.ofNanos(System.nanoTime() - begun)).as("not before the budget ran out")
                        .isGreaterThanOrEqualTo(lease.multipliedBy(2).dividedBy(3));
            }
            // reported on the reporting thread just after the flag turns true
            IdempotencyStoreContract.eventually("the loss is reported",
                    () -> eventTypes(key).contains(IdempotencyEvent.Type.LEASE_LOST));
        }

        @Test
        @SentenceFragment("many leases due together are renewed in batches, one store call for several")
        void leasesDueTogetherRenewedInBatches() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(1500)))
                    .operation(newOperation(), String.class);
            List<String> keys = new ArrayList<>();
            List<Blocked> running = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    String key = newKey();
                    keys.add(key);
                    running.add(block(op, key, "h"));
                }
                sleepQuietly(2000);
            } finally {
                for (Blocked blocked : running) {
                    blocked.release();
                    blocked.close();
                }
            }
            for (String key : keys) {
                assertThat(eventsOf(key, IdempotencyEvent.Type.LEASE_RENEWED)).as("renewals of %s", key).isNotEmpty();
                assertThat(eventTypes(key)).doesNotContain(IdempotencyEvent.Type.LEASE_LOST);
            }
            // a batch of one goes through extend: every extendAll call carried two leases or more
            assertThat(store.calls(FaultInjectingStore.Operation.EXTEND_ALL)).as("batch renewals").isPositive();
        }

        @Test
        @SentenceFragment("a listener that throws an Error stops no renewal, for this execution or the next")
        void listenerErrorDoesNotKillRenewal() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(800)).listener(event -> {
                if (event.type() == IdempotencyEvent.Type.LEASE_RENEWED) {
                    throw new AssertionError("a listener that breaks");
                }
            })).operation(newOperation(), String.class);

            assertHeldWhileRunning(op, newKey(), Duration.ofMillis(1600));
            assertHeldWhileRunning(op, newKey(), Duration.ofMillis(1600));
        }

        @Test
        @SentenceFragment("a failed renewal is tried again promptly, not a renewal interval later")
        void failedRenewalRetriedPromptly() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(1000))
                    .renewInterval(Duration.ofMillis(600))).operation(newOperation(), String.class);
            store.failNext(FaultInjectingStore.Operation.EXTEND, 1);

            assertHeldWhileRunning(op, newKey(), Duration.ofMillis(2000));

            assertThat(store.calls(FaultInjectingStore.Operation.EXTEND)).as("the failed renewal and its retries")
                    .isGreaterThanOrEqualTo(2);
        }

        @Test
        @SentenceFragment("the work learns that its lease is lost: flag, callback, check and event, and it stores nothing")
        void leaseLossIsVisible() {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(400)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            Execution<String> execution = op.begin(key, "h");
            AtomicInteger callbacks = new AtomicInteger();
            execution.onLeaseLost(callbacks::incrementAndGet);
            assertThat(execution.isLeaseLost()).isFalse();
            assertThat(execution.leaseRemaining()).isPositive();
            execution.checkLease();

            store.failAlways(FaultInjectingStore.Operation.EXTEND); // the store cannot be reached to renew

            IdempotencyStoreContract.eventually("the lease is reported lost", execution::isLeaseLost);
            // the flag is set first, then the log line; the callbacks and the event follow on engine threads
            IdempotencyStoreContract.eventually("the callback runs", () -> callbacks.get() > 0);
            assertThat(callbacks).hasValue(1);
            assertThat(execution.leaseRemaining()).isZero();
            assertThatThrownBy(execution::checkLease).isInstanceOf(IdempotencyLeaseLostException.class)
                    .hasMessageContaining(key);
            assertThat(eventsOf(key, IdempotencyEvent.Type.LEASE_LOST)).singleElement()
                    .satisfies(event -> assertThat(event.error()).isInstanceOf(IdempotencyLeaseLostException.class));
            AtomicInteger late = new AtomicInteger();
            execution.onLeaseLost(late::incrementAndGet);
            assertThat(late).as("a callback registered after the loss runs at once").hasValue(1);

            store.heal();
            IdempotencyStoreContract.eventually("another caller takes the key over", () -> {
                try {
                    return execute(op, key, "h", () -> "successor").equals("successor");
                } catch (IdempotencyInProgressException stillLive) {
                    return false;
                }
            });
            assertThat(execution.complete("late")).as("the former owner stores nothing").isFalse();
            assertThat(execute(op, key, "h", () -> "x")).isEqualTo("successor");
        }

        @Test
        @SentenceFragment("an execution left open past the maximum execution time is no longer renewed, and is reported")
        void unfinishedExecutionIsBounded() {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofMillis(300))
                    .maxExecutionTime(Duration.ofMillis(700))).operation(newOperation(), String.class);
            String key = newKey();
            Execution<String> forgotten = op.begin(key, "h"); // never finished by its caller

            IdempotencyStoreContract.eventually("the leak is reported",
                    () -> !eventsOf(key, IdempotencyEvent.Type.LEAKED).isEmpty());
            assertThat(forgotten.isLeaseLost()).isTrue();
            IdempotencyStoreContract.eventually("the key frees itself one lease later", () -> {
                try {
                    return execute(op, key, "h", () -> "next").equals("next");
                } catch (IdempotencyInProgressException stillLive) {
                    return false;
                }
            });
        }

        @Test
        @SentenceFragment("a store fault while waiting for a running owner never runs the work beside it, even failing open")
        void faultWhileWaitingDoesNotFailOpen() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.failOpen(true).waitForInProgress(Duration.ofSeconds(2))
                    .pollInterval(Duration.ofMillis(10))).operation(newOperation(), String.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();
            try (Blocked owner = block(op, key, "h", runs)) {
                ExecutorService pool = Executors.newSingleThreadExecutor();
                try {
                    long acquiresBefore = store.calls(FaultInjectingStore.Operation.ACQUIRE);
                    Future<String> duplicate = pool.submit(() -> execute(op, key, "h",
                            () -> "duplicate ran " + runs.incrementAndGet()));
                    IdempotencyStoreContract.eventually("the duplicate saw the running owner",
                            () -> store.calls(FaultInjectingStore.Operation.ACQUIRE) > acquiresBefore);
                    store.failNext(FaultInjectingStore.Operation.ACQUIRE, 3);
                    IdempotencyStoreContract.eventually("the duplicate met the faults",
                            () -> store.calls(FaultInjectingStore.Operation.ACQUIRE) >= acquiresBefore + 4);
                    owner.release();
                    assertThat(duplicate.get(10, TimeUnit.SECONDS)).isEqualTo("blocked-result");
                } finally {
                    pool.shutdownNow();
                }
            }
            assertThat(runs).hasValue(1);
            assertThat(eventTypes(key)).doesNotContain(IdempotencyEvent.Type.UNPROTECTED)
                    .contains(IdempotencyEvent.Type.STORE_ERROR);
        }

        @Test
        @SentenceFragment("a permanent failure the store cannot record releases the key, so a retry runs the work")
        void unrecordableFailureReleases() {
            IdempotentOperation<String> op = engine(b -> b.permanentFailure(e -> e instanceof IllegalStateException))
                    .operation(newOperation(), String.class);
            String key = newKey();
            store.failNext(FaultInjectingStore.Operation.FAIL, 1);

            assertThatThrownBy(() -> execute(op, key, "h", () -> {
                throw new IllegalStateException("declined");
            })).isInstanceOf(IllegalStateException.class).hasMessage("declined");

            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.STORE_ERROR, IdempotencyEvent.Type.RELEASED);
            assertThat(execute(op, key, "h", () -> "retried")).isEqualTo("retried");
        }
    }

    @Nested
    @SentenceFragment("results the codec may not keep")
    class Encoding {

        @Test
        @SentenceFragment("a declared type the codec cannot handle is refused when the operation is created")
        void unencodableTypeRefusedAtCreation() {
            Idempotency engine = engine();

            assertThatThrownBy(() -> engine.operation(newOperation(), NoCreator.class))
                    .isInstanceOf(IdempotencyConfigurationException.class)
                    .hasMessageContaining(NoCreator.class.getName()).hasMessageContaining("constructor");
            assertThatThrownBy(() -> engine.operation(newOperation(), Shape.class))
                    .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("abstract");
        }

        @Test
        @SentenceFragment("java.time and Optional values are kept and replayed equal")
        void jdkTypesReplayEqual() {
            IdempotentOperation<Stamped> op = engine().operation(newOperation(), Stamped.class);
            String key = newKey();
            Stamped value = new Stamped(Instant.parse("2026-11-30T10:15:30.123456Z"),
                    OffsetDateTime.parse("2026-11-30T11:15:30+01:00"),
                    ZonedDateTime.parse("2026-03-29T03:30+02:00[Europe/Paris]"), LocalDate.parse("2026-02-28"),
                    Duration.ofMillis(1500), Optional.of("note"), Optional.empty());

            execute(op, key, "h", () -> value);

            assertThat(execute(op, key, "h", () -> null)).isEqualTo(value);
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.COMPLETED)
                    .doesNotContain(IdempotencyEvent.Type.RESULT_NOT_KEPT);
        }

        @Test
        @SentenceFragment("a result that fails to encode is returned, reported with its cause, and replays say so")
        void encodingFailureIsReported() {
            IdempotentOperation<Fragile> op = engine().operation(newOperation(), Fragile.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();

            Fragile result = execute(op, key, "h", () -> {
                runs.incrementAndGet();
                return new Fragile("unencodable");
            });

            assertThat(result).isEqualTo(new Fragile("unencodable"));
            assertThat(eventsOf(key, IdempotencyEvent.Type.RESULT_NOT_KEPT)).singleElement()
                    .satisfies(event -> assertThat(event.error()).isNotNull());
            assertThatThrownBy(() -> execute(op, key, "h", () -> new Fragile("again")))
                    .isInstanceOf(IdempotencyResultNotKeptException.class);
            assertThat(runs).hasValue(1);
        }
    }

    /** A result type without a constructor Jackson can use. */
    public static final class NoCreator {
        private final String value;

        /**
         * Not usable by Jackson: no parameter names, no annotation.
         *
         * @param value the text to repeat
         * @param copies how many times to repeat it
         */
        public NoCreator(String value, int copies) {
            this.value = value.repeat(copies);
        }

        /**
         * The value.
         *
         * @return the value repeated as many times as the constructor said
         */
        public String getValue() {
            return value;
        }
    }

    /** An abstract result type, which stored results cannot say how to instantiate. */
    public abstract static class Shape {
        /** For subclasses. */
        protected Shape() {
        }

        /**
         * The area.
         *
         * @return the area
         */
        public abstract double getArea();
    }

    /** A result with JDK value types. */
    public record Stamped(Instant at, OffsetDateTime local, ZonedDateTime zoned, LocalDate day, Duration took,
            Optional<String> note, Optional<String> none) {
    }

    /**
     * A result whose encoding fails at run time, for one value, as a getter over a closed resource would.
     *
     * @param text the text; "unencodable" cannot be read back
     */
    public record Fragile(String text) {
        /**
         * The text, as the codec reads it when encoding: fails for {@code "unencodable"}.
         *
         * @return the text
         * @throws IllegalStateException if the text is {@code "unencodable"}
         */
        @Override
        public String text() {
            if (text.equals("unencodable")) {
                throw new IllegalStateException("this value cannot be read now");
            }
            return text;
        }
    }

    /**
     * Runs blocked work on {@code key} for {@code duration} while duplicates keep calling: each must get an
     * in-progress answer, never run the work nor take it over.
     */
    private void assertHeldWhileRunning(IdempotentOperation<String> op, String key, Duration duration)
            throws Exception {
        assertRunsOnceWhileDuplicatesCall(op, key, duration);
        assertThat(eventTypes(key)).doesNotContain(IdempotencyEvent.Type.TAKEOVER, IdempotencyEvent.Type.LEASE_LOST)
                .contains(IdempotencyEvent.Type.LEASE_RENEWED, IdempotencyEvent.Type.COMPLETED);
    }

    /**
     * Runs blocked work on {@code key} for {@code duration} while duplicates keep calling: the work runs once and
     * the duplicates get in-progress answers. What the listeners heard is left to the caller.
     */
    private void assertRunsOnceWhileDuplicatesCall(IdempotentOperation<String> op, String key, Duration duration)
            throws Exception {
        AtomicInteger runs = new AtomicInteger();
        int conflicts = 0;
        try (Blocked blocked = block(op, key, "h", runs)) {
            long until = System.nanoTime() + duration.toNanos();
            while (System.nanoTime() - until < 0) {
                try {
                    execute(op, key, "h", () -> "duplicate ran " + runs.incrementAndGet());
                } catch (IdempotencyInProgressException expected) {
                    conflicts++;
                }
                sleepQuietly(40);
            }
            blocked.release();
            assertThat(blocked.result()).isEqualTo("blocked-result");
        }
        assertThat(runs).as("the work ran once").hasValue(1);
        assertThat(conflicts).isPositive();
    }

    private List<IdempotencyEvent> eventsOf(String key, IdempotencyEvent.Type type) {
        List<IdempotencyEvent> matching = new ArrayList<>();
        for (IdempotencyEvent event : events) {
            if (event.key().equals(key) && event.type() == type) {
                matching.add(event);
            }
        }
        return matching;
    }

    @Nested
    @SentenceFragment("results")
    class Results {

        @Test
        @SentenceFragment("over the size limit close the record without being kept; replays say so")
        void tooLarge() {
            IdempotentOperation<String> op = engine(b -> b.maxResultBytes(100)).operation(newOperation(), String.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();
            String big = "x".repeat(200);

            assertThat(execute(op, key, "h", () -> {
                runs.incrementAndGet();
                return big;
            })).isEqualTo(big);

            assertThatThrownBy(() -> execute(op, key, "h", () -> {
                runs.incrementAndGet();
                return big;
            })).isInstanceOf(IdempotencyResultNotKeptException.class);
            assertThat(runs).hasValue(1);
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.RESULT_NOT_KEPT);
        }

        @Test
        @SentenceFragment("of 512 KiB are kept and replayed with the default limit")
        void largeKept() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            String large = "é".repeat(256 * 1024);

            execute(op, key, "h", () -> large);

            assertThat(execute(op, key, "h", () -> "other")).isEqualTo(large);
        }
    }

    @Nested
    @SentenceFragment("a store fault")
    class StoreFaults {

        @Test
        @SentenceFragment("while acquiring fails closed: the work does not run")
        void failClosed() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            AtomicInteger runs = new AtomicInteger();

            assertThatThrownBy(() -> execute(op, key, "h", () -> "ran " + runs.incrementAndGet()))
                    .isInstanceOfSatisfying(IdempotencyStoreException.class,
                            e -> assertThat(e.httpStatus()).isEqualTo(503));
            assertThat(runs).hasValue(0);
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.STORE_ERROR);
        }

        @Test
        @SentenceFragment("while acquiring runs the work unprotected when configured to fail open, and says so")
        void failOpen() {
            IdempotentOperation<String> op = engine(b -> b.failOpen(true)).operation(newOperation(), String.class);
            String key = newKey();
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);

            assertThat(execute(op, key, "h", () -> "unprotected")).isEqualTo("unprotected");
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.STORE_ERROR,
                    IdempotencyEvent.Type.UNPROTECTED);
            assertThat(op.find(key)).isEmpty();
        }

        @Test
        @SentenceFragment("while completing still returns the result to the caller and reports the fault")
        void completeFault() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            store.failNext(FaultInjectingStore.Operation.COMPLETE, 1);

            assertThat(execute(op, key, "h", () -> "done")).isEqualTo("done");
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.ACQUIRED,
                    IdempotencyEvent.Type.STORE_ERROR);
        }

        @Test
        @SentenceFragment("while releasing still rethrows the work's own exception")
        void releaseFault() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            store.failNext(FaultInjectingStore.Operation.RELEASE, 1);
            RuntimeException boom = new RuntimeException("work failed");

            assertThatThrownBy(() -> execute(op, key, "h", () -> {
                throw boom;
            })).isSameAs(boom);
        }
    }

    @Nested
    @SentenceFragment("bad input")
    class BadInput {

        @Test
        @SentenceFragment("is refused before any store call, naming the rule")
        void refusedBeforeStore() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            Map<String, String> cases = Map.of(
                    "", "must not be blank",
                    "   ", "must not be blank",
                    "a".repeat(256), "at most 255 bytes",
                    "é".repeat(128), "at most 255 bytes",
                    "line\nbreak", "control characters",
                    "nul\u0000", "control characters",
                    "bad\uD800", "well-formed Unicode");
            cases.forEach((key, rule) -> assertThatThrownBy(() -> execute(op, key, "h", () -> "x"))
                    .as("key %s", key.replace("\n", "\\n"))
                    .isInstanceOf(InvalidIdempotencyKeyException.class)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(rule));
            assertThatThrownBy(() -> execute(op, null, "h", () -> "x"))
                    .isInstanceOf(InvalidIdempotencyKeyException.class);
            assertThatThrownBy(() -> execute(op, newKey(), "h", null))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("work");
            assertThatThrownBy(() -> run(op, newKey(), "h", null))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("work");
            assertThat(store.totalCalls()).isZero();
        }

        @Test
        @SentenceFragment("accepts a key of exactly 255 UTF-8 bytes")
        void keyAtLimit() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = "€".repeat(85);

            assertThat(execute(op, key, "h", () -> "ok")).isEqualTo("ok");
            assertThat(execute(op, key, "h", () -> "again")).isEqualTo("ok");
        }
    }

    @Nested
    @SentenceFragment("under concurrency")
    class Concurrency {

        @Test
        @SentenceFragment("32 threads on one key: the work runs once, each gets the result or an in-progress error")
        void oneKeyManyThreads() throws Exception {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();

            List<Object> outcomes = IdempotencyStoreContract.race(32, () -> {
                try {
                    return execute(op, key, "h", () -> {
                        runs.incrementAndGet();
                        sleepQuietly(50);
                        return "the-result";
                    });
                } catch (IdempotencyInProgressException e) {
                    return e;
                }
            });

            assertThat(runs).hasValue(1);
            assertThat(outcomes).allSatisfy(o -> assertThat(o)
                    .satisfiesAnyOf(r -> assertThat(r).isEqualTo("the-result"),
                            r -> assertThat(r).isInstanceOf(IdempotencyInProgressException.class)));
            assertThat(outcomes).contains("the-result");
        }

        @Test
        @SentenceFragment("32 threads on one key with a wait: the work runs once and all get the same result")
        void oneKeyManyThreadsWaiting() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.waitForInProgress(Duration.ofSeconds(20)))
                    .operation(newOperation(), String.class);
            String key = newKey();
            AtomicInteger runs = new AtomicInteger();

            List<String> outcomes = IdempotencyStoreContract.race(32, () -> execute(op, key, "h", () -> {
                runs.incrementAndGet();
                sleepQuietly(100);
                return "the-result";
            }));

            assertThat(runs).hasValue(1);
            assertThat(outcomes).hasSize(32).containsOnly("the-result");
        }

        @Test
        @SentenceFragment("many distinct keys (10,000 by default) over 8 threads: each key's work runs exactly once")
        void manyKeys() throws Exception {
            IdempotentOperation<Integer> op = engine().operation(newOperation(), Integer.class);
            int keys = manyKeysCount();
            int threads = 8;
            String prefix = newKey() + "-";
            Map<Integer, AtomicInteger> runs = new ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
            try {
                for (int t = 0; t < threads; t++) {
                    int offset = t * (keys / threads);
                    futures.add(pool.submit(() -> {
                        // every thread walks all keys from a different starting point, so they overlap
                        for (int i = 0; i < keys; i++) {
                            int k = (i + offset) % keys;
                            try {
                                Integer result = execute(op, prefix + k, "h", () -> {
                                    runs.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
                                    return k;
                                });
                                if (result != k) {
                                    unexpected.add(new AssertionError("key " + k + " returned " + result));
                                }
                            } catch (IdempotencyInProgressException concurrentDuplicate) {
                                // another thread is running this key right now: allowed
                            } catch (Throwable e) {
                                unexpected.add(e);
                            }
                        }
                    }));
                }
                for (Future<?> future : futures) {
                    future.get(300, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }

            assertThat(unexpected).isEmpty();
            assertThat(runs).hasSize(keys);
            assertThat(runs.values()).allSatisfy(count -> assertThat(count).hasValue(1));
        }
    }

    @Nested
    @SentenceFragment("claims taken together with beginAll")
    class BatchClaims {

        @Test
        @SentenceFragment("run each fresh key's work once, and replay the whole batch afterwards")
        void freshBatchThenReplay() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            List<IdempotentOperation.Request> requests = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                requests.add(new IdempotentOperation.Request(newKey(), "h" + i));
            }

            List<BeginOutcome<String>> first = op.beginAll(requests);
            for (int i = 0; i < requests.size(); i++) {
                Execution<String> execution = first.get(i).execution();
                assertThat(execution.isOwner()).as("key %d of a fresh batch", i).isTrue();
                assertThat(execution.isTakeover()).isFalse();
                assertThat(execution.complete("result-" + i)).isTrue();
            }
            List<BeginOutcome<String>> second = op.beginAll(requests);

            for (int i = 0; i < requests.size(); i++) {
                Execution<String> execution = second.get(i).execution();
                assertThat(execution.isReplay()).as("key %d of the repeated batch", i).isTrue();
                assertThat(execution.replayedResult()).isEqualTo("result-" + i);
            }
            assertThat(store.calls(FaultInjectingStore.Operation.ACQUIRE_ALL)).as("batch acquires").isEqualTo(2);
        }

        @Test
        @SentenceFragment("take over a crashed owner's batch as soon as its leases end")
        void takeOverCrashedBatch() {
            IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofSeconds(5)))
                    .operation(newOperation(), String.class);
            for (int attempt = 1; ; attempt++) {
                List<IdempotentOperation.Request> requests = List.of(new IdempotentOperation.Request(newKey(), "h"),
                        new IdempotentOperation.Request(newKey(), "h"), new IdempotentOperation.Request(newKey(), null));
                // a crashed consumer: it claimed the batch with a lease of two seconds and never finished
                Duration crashedLease = Duration.ofSeconds(2);
                List<AcquireResult> crashed = store.acquireAll(requests.stream()
                        .map(r -> new AcquireRequest(op.storedKey(r.key()), "h")).toList(), crashedLease);
                assertThat(crashed).allSatisfy(r -> assertThat(r).isInstanceOf(AcquireResult.Acquired.class));
                Instant leaseEnd = Instant.MIN;
                Instant windowEnd = Instant.MAX;
                for (IdempotentOperation.Request request : requests) {
                    Instant end = rawStore.find(op.storedKey(request.key())).orElseThrow().leaseExpiresAt();
                    leaseEnd = leaseEnd.isAfter(end) ? leaseEnd : end;
                    // the takeover window the SPI promises, whatever the store reports
                    windowEnd = windowEnd.isBefore(end.plus(crashedLease)) ? windowEnd : end.plus(crashedLease);
                }
                assertThat(op.beginAll(requests)).as("a batch while the crashed owner's leases last")
                        .allSatisfy(o -> assertThat(o.failure()).isInstanceOf(IdempotencyInProgressException.class));

                Instant allEnded = leaseEnd;
                IdempotencyStoreContract.eventually("the crashed owner's leases end, by the store's clock",
                        () -> !StoreContractSupport.storeNow(rawStore).isBefore(allEnded));
                List<BeginOutcome<String>> outcomes = op.beginAll(requests);
                boolean inWindow = StoreContractSupport.storeNow(rawStore).isBefore(windowEnd);
                for (BeginOutcome<String> outcome : outcomes) {
                    if (outcome.isBegun() && outcome.execution().isOwner()) {
                        outcome.execution().complete("recovered");
                    }
                }
                if (!inWindow && attempt < 3) {
                    continue; // a loaded machine overshot the takeover window: the claims prove nothing, try again
                }
                assertThat(inWindow).as("the batch was claimed within the takeover window (3 attempts)").isTrue();
                for (int i = 0; i < requests.size(); i++) {
                    Execution<String> execution = outcomes.get(i).execution();
                    assertThat(execution.isOwner()).as("key %d of the crashed batch", i).isTrue();
                    assertThat(execution.isTakeover()).as("key %d of the crashed batch", i).isTrue();
                    assertThat(op.execute(requests.get(i).key(), "h", () -> "again")).isEqualTo("recovered");
                    assertThat(eventTypes(requests.get(i).key())).contains(IdempotencyEvent.Type.TAKEOVER);
                }
                return;
            }
        }

        @Test
        @SentenceFragment("answer each key of a mixed batch on its own, in request order, without waiting")
        void mixedBatch() throws Exception {
            IdempotentOperation<String> op = engine(b -> b.waitForInProgress(Duration.ofSeconds(20))
                    .permanentFailure(e -> e instanceof IllegalStateException)).operation(newOperation(), String.class);
            String done = newKey();
            op.execute(done, "h", () -> "done");
            String failed = newKey();
            assertThatThrownBy(() -> op.execute(failed, "h", () -> {
                throw new IllegalStateException("declined");
            })).isInstanceOf(IllegalStateException.class);
            String reused = newKey();
            op.execute(reused, "h1", () -> "first");
            String running = newKey();
            String fresh = newKey();
            try (Blocked blocked = block(op, running, "h")) {
                long start = System.nanoTime();
                List<BeginOutcome<String>> outcomes = op.beginAll(List.of(new IdempotentOperation.Request(done, "h"),
                        new IdempotentOperation.Request(fresh, "h"), new IdempotentOperation.Request(running, "h"),
                        new IdempotentOperation.Request(reused, "h2"), new IdempotentOperation.Request(failed, "h"),
                        new IdempotentOperation.Request(" ", "h")));
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("a batch does not wait for running keys")
                        .isLessThan(Duration.ofSeconds(10));

                assertThat(outcomes).hasSize(6);
                assertThat(outcomes.get(0).execution().replayedResult()).isEqualTo("done");
                assertThat(outcomes.get(1).execution().isOwner()).isTrue();
                assertThat(outcomes.get(1).execution().complete("fresh")).isTrue();
                assertThat(outcomes.get(2).failure()).isInstanceOf(IdempotencyInProgressException.class);
                assertThat(outcomes.get(3).failure()).isInstanceOf(IdempotencyKeyReusedException.class);
                assertThat(outcomes.get(4).failure()).isInstanceOf(IdempotencyReplayedFailureException.class);
                assertThat(outcomes.get(5).failure()).isInstanceOf(InvalidIdempotencyKeyException.class);
                blocked.release();
                assertThat(blocked.result()).isEqualTo("blocked-result");
            }
            assertThat(op.execute(fresh, "h", () -> "again")).isEqualTo("fresh");
        }

        @Test
        @SentenceFragment("release claims closed without finishing, so a later batch runs them with new tokens")
        void closedClaimsReleased() {
            IdempotentOperation<String> op = engine().operation(newOperation(), String.class);
            List<IdempotentOperation.Request> requests = List.of(new IdempotentOperation.Request(newKey(), "h"),
                    new IdempotentOperation.Request(newKey(), "h"));
            List<Long> tokens = new ArrayList<>();
            for (BeginOutcome<String> outcome : op.beginAll(requests)) {
                tokens.add(outcome.execution().fencingToken());
                outcome.execution().close();
            }

            List<BeginOutcome<String>> again = op.beginAll(requests);

            for (int i = 0; i < requests.size(); i++) {
                Execution<String> execution = again.get(i).execution();
                assertThat(execution.isOwner()).isTrue();
                assertThat(execution.isTakeover()).isFalse();
                assertThat(execution.fencingToken()).isGreaterThan(tokens.get(i));
                assertThat(execution.complete("second")).isTrue();
            }
        }

        @Test
        @SentenceFragment("overlapping batches from 8 threads: each key's work runs exactly once")
        void overlappingBatches() throws Exception {
            IdempotentOperation<Integer> op = engine().operation(newOperation(), Integer.class);
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                keys.add(newKey());
            }
            Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
            AtomicInteger thread = new AtomicInteger();

            IdempotencyStoreContract.race(8, () -> {
                int offset = thread.getAndIncrement() * 25;
                for (int start = 0; start < keys.size(); start += 40) {
                    List<IdempotentOperation.Request> batch = new ArrayList<>();
                    for (int i = start; i < Math.min(start + 40, keys.size()); i++) {
                        batch.add(new IdempotentOperation.Request(keys.get((i + offset) % keys.size()), "h"));
                    }
                    List<BeginOutcome<Integer>> outcomes = op.beginAll(batch);
                    for (int i = 0; i < outcomes.size(); i++) {
                        BeginOutcome<Integer> outcome = outcomes.get(i);
                        if (!outcome.isBegun()) {
                            // another thread runs this key right now
                            assertThat(outcome.failure()).isInstanceOf(IdempotencyInProgressException.class);
                        } else if (outcome.execution().isOwner()) {
                            runs.computeIfAbsent(batch.get(i).key(), k -> new AtomicInteger()).incrementAndGet();
                            outcome.execution().complete(i);
                        }
                    }
                }
                return null;
            });

            assertThat(runs).hasSize(keys.size());
            assertThat(runs.values()).allSatisfy(count -> assertThat(count).hasValue(1));
        }
    }

    @Nested
    @SentenceFragment("completions racing lease renewals")
    class RenewalRaces {

        @Test
        @SentenceFragment("are never undone: every record stays completed, and no work runs again")
        void completionsRacingRenewals() {
            // renewals every 2 ms, so that a renewal is under way whenever a completion is written
            IdempotentOperation<Integer> op = engine(b -> b.lease(Duration.ofSeconds(2))
                    .renewInterval(Duration.ofMillis(2))).operation(newOperation(), Integer.class);
            String prefix = newKey() + "-";
            AtomicInteger runs = new AtomicInteger();
            int executions = 64;

            for (int i = 0; i < executions; i++) {
                int n = i;
                assertThat(op.execute(prefix + i, "h", () -> {
                    runs.incrementAndGet();
                    sleepQuietly(3 + n % 4);
                    return n;
                })).isEqualTo(i);
            }

            for (int i = 0; i < executions; i++) {
                assertThat(op.find(prefix + i).orElseThrow().status()).as("record %d after its completion", i)
                        .isEqualTo(RecordStatus.COMPLETED);
                assertThat(op.execute(prefix + i, "h", () -> -1)).as("a repeat of key %d", i).isEqualTo(i);
            }
            assertThat(runs).hasValue(executions);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("latch not released within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private Blocked block(IdempotentOperation<String> op, String key, String hash) throws InterruptedException {
        return block(op, key, hash, new AtomicInteger());
    }

    /** Starts an execution whose work blocks until released; returns once the work is running. */
    private Blocked block(IdempotentOperation<String> op, String key, String hash, AtomicInteger runs)
            throws InterruptedException {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<String> result = pool.submit(() -> execute(op, key, hash, () -> {
            runs.incrementAndGet();
            running.countDown();
            await(release);
            return "blocked-result";
        }));
        if (!running.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("the blocked execution did not start");
        }
        return new Blocked(pool, release, result);
    }

    /** An execution held in its work until {@link #release()}. */
    private static final class Blocked implements AutoCloseable {
        private final ExecutorService pool;
        private final CountDownLatch release;
        private final Future<String> result;

        Blocked(ExecutorService pool, CountDownLatch release, Future<String> result) {
            this.pool = pool;
            this.release = release;
            this.result = result;
        }

        void release() {
            release.countDown();
        }

        String result() throws Exception {
            return result.get(10, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            release.countDown();
            try {
                result.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("the blocked execution did not finish cleanly", e);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
