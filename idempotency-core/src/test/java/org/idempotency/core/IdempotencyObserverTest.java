package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.idempotency.api.IdempotencyEvent.Type;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.IdempotencyObserver.Scope;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The engine keeps the rules of {@link IdempotencyObserver}, checked with an observer that records everything. */
class IdempotencyObserverTest {

    private final Recorder recorder = new Recorder();
    private final FlakyStore store = new FlakyStore(InMemoryIdempotencyStore.create());
    private final List<Idempotency> engines = new ArrayList<>();

    private Idempotency engine(Idempotency.Builder builder) {
        Idempotency engine = builder.observer(recorder).build();
        engines.add(engine);
        return engine;
    }

    private Idempotency engine() {
        return engine(Idempotency.builder(store));
    }

    @AfterEach
    void everyCallEndedOnItsThread() {
        engines.forEach(Idempotency::close);
        for (Call call : recorder.calls) {
            assertThat(call.ends.get()).as("%s ended once", call.call).isEqualTo(1);
            assertThat(call.endThread).as("%s ended on the thread that made it", call.call).isSameAs(call.thread);
        }
        for (Run run : recorder.runs) {
            assertThat(run.ends.get()).as("an execution ends at most once").isLessThanOrEqualTo(1);
        }
    }

    @Nested
    @DisplayName("operations")
    class Operations {

        @Test
        @DisplayName("are announced with their store when their handle is created, the default one on first use")
        void announced() {
            Idempotency engine = engine();
            engine.operation("charge", String.class);
            assertThat(recorder.operations).containsExactly("charge");
            engine.execute("k", "h", () -> "r");
            assertThat(recorder.operations).containsExactly("charge", Idempotency.DEFAULT_OPERATION);
            assertThat(recorder.stores).containsOnly(store);
        }
    }

    @Nested
    @DisplayName("each outcome")
    class Outcomes {

        @Test
        @DisplayName("a first call acquires and completes, with the work inside the execution's scope")
        void executed() {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            AtomicReference<@Nullable Run> current = new AtomicReference<>();
            assertThat(op.execute("k", "h", () -> {
                current.set(recorder.current.get());
                return "r";
            })).isEqualTo("r");

            Run run = recorder.only();
            assertThat(current.get()).as("the work ran inside the scope").isSameAs(run);
            assertThat(recorder.current.get()).as("the scope is closed after the work").isNull();
            assertThat(run.events).containsExactly(Type.ACQUIRED);
            assertThat(run.calls()).containsExactly("ACQUIRE:ACQUIRED", "COMPLETE:DONE");
            assertThat(run.outcome()).isEqualTo(Type.COMPLETED);
            assertThat(run.error.get()).isNull();
        }

        @Test
        @DisplayName("a repeat is replayed")
        void replayed() {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            op.execute("k", "h", () -> "r");
            op.execute("k", "h", () -> "other");

            Run replay = recorder.runs.get(1);
            assertThat(replay.calls()).containsExactly("ACQUIRE:EXISTING");
            assertThat(replay.outcome()).isEqualTo(Type.REPLAYED);
            assertThat(replay.events).isEmpty();
        }

        @Test
        @DisplayName("a repeat while the first runs is in progress, one with another request reuses the key")
        void inProgressAndKeyReused() {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            try (Execution<String> first = op.begin("k", "h")) {
                assertThat(first.isOwner()).isTrue();
                assertThatThrownBy(() -> op.execute("k", "h", () -> "r"))
                        .isInstanceOf(IdempotencyInProgressException.class);
                assertThatThrownBy(() -> op.execute("k", "other", () -> "r"))
                        .isInstanceOf(IdempotencyKeyReusedException.class);
                assertThat(recorder.runs.get(1).outcome()).isEqualTo(Type.IN_PROGRESS);
                assertThat(recorder.runs.get(2).outcome()).isEqualTo(Type.KEY_REUSED);
                assertThat(recorder.runs.get(0).ends.get()).as("the first is still open").isZero();
            }
            assertThat(recorder.runs.get(0).outcome()).as("closing releases it").isEqualTo(Type.RELEASED);
            assertThat(recorder.runs.get(0).calls()).containsExactly("ACQUIRE:ACQUIRED", "RELEASE:DONE");
        }

        @Test
        @DisplayName("work that throws releases the key, with what it threw")
        void released() {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            IllegalStateException thrown = new IllegalStateException("declined");
            assertThatThrownBy(() -> op.execute("k", "h", () -> {
                throw thrown;
            })).isSameAs(thrown);

            Run run = recorder.only();
            assertThat(run.calls()).containsExactly("ACQUIRE:ACQUIRED", "RELEASE:DONE");
            assertThat(run.outcome()).isEqualTo(Type.RELEASED);
            assertThat(run.error.get()).isSameAs(thrown);
            assertThat(recorder.current.get()).as("the scope is closed when the work throws").isNull();
        }

        @Test
        @DisplayName("a permanent failure is recorded, then replayed")
        void failureRecordedAndReplayed() {
            IdempotentOperation<String> op = engine(Idempotency.builder(store)
                    .permanentFailure(e -> e instanceof IllegalArgumentException)).operation("op", String.class);
            IllegalArgumentException thrown = new IllegalArgumentException("bad card");
            assertThatThrownBy(() -> op.execute("k", "h", () -> {
                throw thrown;
            })).isSameAs(thrown);
            assertThatThrownBy(() -> op.execute("k", "h", () -> "r"))
                    .isInstanceOf(IdempotencyReplayedFailureException.class);

            assertThat(recorder.runs.get(0).calls()).containsExactly("ACQUIRE:ACQUIRED", "FAIL:DONE");
            assertThat(recorder.runs.get(0).outcome()).isEqualTo(Type.FAILURE_RECORDED);
            assertThat(recorder.runs.get(0).error.get()).isSameAs(thrown);
            assertThat(recorder.runs.get(1).outcome()).isEqualTo(Type.FAILURE_REPLAYED);
        }

        @Test
        @DisplayName("a result too large is not kept, for the run and its replays")
        void notKept() {
            IdempotentOperation<String> op = engine(Idempotency.builder(store).maxResultBytes(4))
                    .operation("op", String.class);
            op.execute("k", "h", () -> "a long result");
            assertThatThrownBy(() -> op.execute("k", "h", () -> "r"))
                    .isInstanceOf(IdempotencyResultNotKeptException.class);

            assertThat(recorder.runs.get(0).outcome()).isEqualTo(Type.RESULT_NOT_KEPT);
            assertThat(recorder.runs.get(1).outcome()).isEqualTo(Type.RESULT_NOT_KEPT);
        }

        @Test
        @DisplayName("a store fault fails closed, with the fault; with fail-open the work runs unprotected")
        void storeErrorAndUnprotected() {
            IdempotentOperation<String> closed = engine().operation("closed", String.class);
            store.failAcquire.set(true);
            assertThatThrownBy(() -> closed.execute("k", "h", () -> "r"))
                    .isInstanceOf(IdempotencyStoreException.class);
            Run failed = recorder.only();
            assertThat(failed.calls()).containsExactly("ACQUIRE:error");
            assertThat(failed.outcome()).isEqualTo(Type.STORE_ERROR);
            assertThat(failed.error.get()).isInstanceOf(IdempotencyStoreException.class);

            IdempotentOperation<String> open = engine(Idempotency.builder(store).failOpen(true))
                    .operation("open", String.class);
            assertThat(open.execute("k", "h", () -> "r")).isEqualTo("r");
            Run unprotected = recorder.runs.get(1);
            assertThat(unprotected.outcome()).isEqualTo(Type.UNPROTECTED);
            assertThat(unprotected.calls()).containsExactly("ACQUIRE:error");
        }

        @Test
        @DisplayName("beginAll observes each key as an execution, and the batch acquire as a call of its own")
        void beginAll() {
            Idempotency engine = engine(Idempotency.builder(InMemoryIdempotencyStore.create()));
            IdempotentOperation<String> op = engine.operation("op", String.class);
            op.execute("done", "h", () -> "r");
            recorder.runs.clear();
            recorder.calls.clear();

            List<BeginOutcome<String>> outcomes = op.beginAll(List.of(new IdempotentOperation.Request("new", "h"),
                    new IdempotentOperation.Request("done", "h"), new IdempotentOperation.Request("done2", "h")));
            outcomes.get(0).execution().complete("r");
            outcomes.get(2).execution().release();

            assertThat(recorder.runs).extracting(Run::outcome)
                    .containsExactly(Type.COMPLETED, Type.REPLAYED, Type.RELEASED);
            Call batch = recorder.calls.get(0);
            assertThat(batch.call).isEqualTo(StoreCall.ACQUIRE_ALL);
            assertThat(batch.parent).isNull();
            assertThat(batch.count).isEqualTo(3);
            assertThat(recorder.runs.get(0).calls()).containsExactly("COMPLETE:DONE");
        }

        @Test
        @DisplayName("beginAll refuses a repeated key before it observes any key: no execution is left unended")
        void beginAllRepeatedKeyObservesNothing() {
            Idempotency engine = engine(Idempotency.builder(InMemoryIdempotencyStore.create()));
            IdempotentOperation<String> op = engine.operation("op", String.class);

            assertThatThrownBy(() -> op.beginAll(List.of(new IdempotentOperation.Request("a", "h"),
                    new IdempotentOperation.Request("b", "h"), new IdempotentOperation.Request("a", "h"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'a' appears twice");
            assertThat(recorder.runs).isEmpty();
            assertThat(recorder.calls).isEmpty();
        }

        @Test
        @DisplayName("an unprotected execution ends once, when its caller finishes it")
        void unprotectedEndsOnce() {
            IdempotentOperation<String> open = engine(Idempotency.builder(store).failOpen(true))
                    .operation("open", String.class);
            store.failAcquire.set(true);
            Execution<String> execution = open.begin("k", "h");
            assertThat(recorder.only().ends.get()).isZero();
            execution.complete("r");
            execution.close();
            execution.release();
            assertThat(recorder.only().ends.get()).isEqualTo(1);
            assertThat(recorder.only().outcome()).isEqualTo(Type.UNPROTECTED);
        }

        @Test
        @DisplayName("a finishing call refused by fencing ends the execution as lease lost")
        void leaseLost() {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            Execution<String> execution = op.begin("k", "h");
            assertThat(store.release(op.storedKey("k"), execution.fencingToken())).isTrue();
            assertThat(execution.complete("r")).isFalse();

            assertThat(recorder.only().calls()).containsExactly("ACQUIRE:ACQUIRED", "COMPLETE:NOT_OWNED");
            assertThat(recorder.only().outcome()).isEqualTo(Type.LEASE_LOST);
        }

        @Test
        @DisplayName("a permanent failure the store cannot record releases the key and ends as a store error")
        void failureNotRecorded() {
            IdempotentOperation<String> op = engine(Idempotency.builder(store).permanentFailure(e -> true))
                    .operation("op", String.class);
            Execution<String> execution = op.begin("k", "h");
            store.failFail.set(true);
            assertThat(execution.fail(new IllegalArgumentException("bad"))).isFalse();

            assertThat(recorder.only().calls()).containsExactly("ACQUIRE:ACQUIRED", "FAIL:error", "RELEASE:DONE");
            assertThat(recorder.only().outcome()).isEqualTo(Type.STORE_ERROR);
            assertThat(recorder.only().error.get()).isInstanceOf(IdempotencyStoreException.class);
        }

        @Test
        @DisplayName("an execution dropped unfinished ends as leaked, and its key is released")
        void leaked() throws Exception {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            beginAndDrop(op);
            await(() -> {
                System.gc();
                return recorder.only().ends.get() == 1 && recorder.topLevel("RELEASE:DONE");
            });
            assertThat(recorder.only().outcome()).isEqualTo(Type.LEAKED);
        }

        private static void beginAndDrop(IdempotentOperation<String> op) {
            assertThat(op.begin("dropped", "h").isOwner()).isTrue();
        }
    }

    @Nested
    @DisplayName("threads and background work")
    class Threads {

        @Test
        @DisplayName("an execution begun on one thread is finished on another, with no scope left open on either")
        void finishedElsewhere() throws Exception {
            IdempotentOperation<String> op = engine().operation("op", String.class);
            Execution<String> execution = op.begin("k", "h");
            assertThat(recorder.current.get()).as("begin opens no scope for the caller's work").isNull();
            Thread begun = Thread.currentThread();
            CompletableFuture.runAsync(() -> execution.complete("r")).get(10, TimeUnit.SECONDS);

            Run run = recorder.only();
            assertThat(run.outcome()).isEqualTo(Type.COMPLETED);
            assertThat(run.endThread).isNotSameAs(begun);
            assertThat(run.callsMade.get(1).thread).isSameAs(run.endThread);
        }

        @Test
        @DisplayName("renewals are store calls of their execution, on the renewal threads, and events")
        void renewals() throws Exception {
            IdempotentOperation<String> op = engine(Idempotency.builder(store).lease(Duration.ofSeconds(3))
                    .renewInterval(Duration.ofMillis(100))).operation("op", String.class);
            try (Execution<String> execution = op.begin("k", "h")) {
                Run run = recorder.only();
                await(() -> run.events.contains(Type.LEASE_RENEWED));
                Call extend = run.callsMade.stream().filter(call -> call.call == StoreCall.EXTEND).findFirst()
                        .orElseThrow();
                assertThat(extend.thread.getName()).startsWith("idempotency-renewal-");
                assertThat(extend.result).isEqualTo(StoreCallResult.DONE);
                execution.complete("r");
            }
        }

        @Test
        @DisplayName("purges are store calls of their own, with the number of records removed")
        void purges() throws Exception {
            AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
            InstantSource clock = now::get;
            InMemoryIdempotencyStore clocked = InMemoryIdempotencyStore.withClock(clock);
            clocked.acquire("expired", null, Duration.ofMillis(1));
            now.set(now.get().plus(Duration.ofHours(1)));
            Idempotency engine = engine(Idempotency.builder(new FlakyStore(clocked))
                    .purgeInterval(Duration.ofMillis(20)));
            assertThat(engine).isNotNull();
            await(() -> recorder.calls.stream().anyMatch(call -> call.call == StoreCall.PURGE && call.count == 1));
            Call purge = recorder.calls.stream().filter(call -> call.call == StoreCall.PURGE).findFirst()
                    .orElseThrow();
            assertThat(purge.parent).isNull();
            assertThat(purge.result).isEqualTo(StoreCallResult.DONE);
            assertThat(purge.thread.getName()).startsWith("idempotency-purge-");
        }
    }

    @Nested
    @DisplayName("a failing observer")
    class FailingObserver {

        @Test
        @DisplayName("changes no outcome: work runs, results are stored and replayed, keys are released")
        void changesNothing() {
            IdempotencyObserver throwing = new IdempotencyObserver() {
                @Override
                public OperationObserver operation(String operation, IdempotencyStore s) {
                    throw new IllegalStateException("observer broken");
                }

                @Override
                public StoreCallObservation storeCall(StoreCall call, IdempotencyStore s) {
                    throw new IllegalStateException("observer broken");
                }
            };
            try (Idempotency engine = Idempotency.builder(store).observer(throwing).build()) {
                IdempotentOperation<String> op = engine.operation("op", String.class);
                AtomicInteger runs = new AtomicInteger();
                assertThat(op.execute("k", "h", () -> "r" + runs.incrementAndGet())).isEqualTo("r1");
                assertThat(op.execute("k", "h", () -> "r" + runs.incrementAndGet())).isEqualTo("r1");
                assertThatThrownBy(() -> op.execute("t", "h", () -> {
                    throw new IllegalStateException("work");
                })).hasMessage("work");
                assertThat(store.find(op.storedKey("t"))).isEmpty();
            }
        }

        @Test
        @DisplayName("whose handles throw changes no outcome either")
        void handlesThrow() {
            Recorder broken = new Recorder();
            broken.broken.set(true);
            try (Idempotency engine = Idempotency.builder(store).observer(broken).build()) {
                IdempotentOperation<String> op = engine.operation("op", String.class);
                assertThat(op.execute("k", "h", () -> "r")).isEqualTo("r");
                assertThat(op.execute("k", "h", () -> "other")).isEqualTo("r");
                assertThat(store.find(op.storedKey("k")).orElseThrow().status())
                        .isEqualTo(org.idempotency.api.RecordStatus.COMPLETED);
            }
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(10);
        }
    }

    /** Records what the engine tells it; every handle throws after recording when {@link #broken} is set. */
    static final class Recorder implements IdempotencyObserver {
        final List<String> operations = new CopyOnWriteArrayList<>();
        final List<IdempotencyStore> stores = new CopyOnWriteArrayList<>();
        final List<Run> runs = new CopyOnWriteArrayList<>();
        final List<Call> calls = new CopyOnWriteArrayList<>();
        final ThreadLocal<@Nullable Run> current = new ThreadLocal<>();
        final AtomicBoolean broken = new AtomicBoolean();

        Run only() {
            assertThat(runs).hasSize(1);
            return runs.get(0);
        }

        boolean topLevel(String call) {
            return calls.stream().anyMatch(c -> c.parent == null && c.describe().equals(call));
        }

        void check() {
            if (broken.get()) {
                throw new IllegalStateException("handle broken");
            }
        }

        @Override
        public OperationObserver operation(String operation, IdempotencyStore store) {
            operations.add(operation);
            stores.add(store);
            return new OperationObserver() {
                @Override
                public ExecutionObservation startExecution() {
                    Run run = new Run(Recorder.this);
                    runs.add(run);
                    return run;
                }

                @Override
                public StoreCallObservation storeCall(StoreCall call) {
                    return start(call, null);
                }
            };
        }

        @Override
        public StoreCallObservation storeCall(StoreCall call, IdempotencyStore store) {
            return start(call, null);
        }

        Call start(StoreCall call, @Nullable Run parent) {
            Call started = new Call(this, call, parent);
            calls.add(started);
            if (parent != null) {
                parent.callsMade.add(started);
            }
            return started;
        }
    }

    /** One recorded execution. */
    static final class Run implements IdempotencyObserver.ExecutionObservation {
        final Recorder recorder;
        final List<Type> events = new CopyOnWriteArrayList<>();
        final List<Call> callsMade = new CopyOnWriteArrayList<>();
        final AtomicInteger ends = new AtomicInteger();
        final AtomicReference<@Nullable Type> outcome = new AtomicReference<>();
        final AtomicReference<@Nullable Throwable> error = new AtomicReference<>();
        volatile @Nullable Thread endThread;

        Run(Recorder recorder) {
            this.recorder = recorder;
        }

        @Nullable Type outcome() {
            return outcome.get();
        }

        List<String> calls() {
            return callsMade.stream().map(Call::describe).toList();
        }

        @Override
        public StoreCallObservation storeCall(StoreCall call) {
            return recorder.start(call, this);
        }

        @Override
        public Scope openScope() {
            Run previous = recorder.current.get();
            recorder.current.set(this);
            recorder.check();
            return () -> recorder.current.set(previous);
        }

        @Override
        public void event(Type type) {
            events.add(type);
            recorder.check();
        }

        @Override
        public void end(Type outcome, @Nullable Throwable error) {
            ends.incrementAndGet();
            this.outcome.set(outcome);
            this.error.set(error);
            endThread = Thread.currentThread();
            recorder.check();
        }
    }

    /** One recorded store call. */
    static final class Call implements IdempotencyObserver.StoreCallObservation {
        final StoreCall call;
        final @Nullable Run parent;
        final Thread thread = Thread.currentThread();
        final AtomicInteger ends = new AtomicInteger();
        volatile @Nullable StoreCallResult result;
        volatile @Nullable Thread endThread;
        volatile boolean failed;
        volatile long count;
        private final Recorder recorder;

        Call(Recorder recorder, StoreCall call, @Nullable Run parent) {
            this.recorder = recorder;
            this.call = call;
            this.parent = parent;
        }

        String describe() {
            return call + ":" + (failed ? "error" : String.valueOf(result));
        }

        @Override
        public void end(StoreCallResult result, long count) {
            ends.incrementAndGet();
            this.result = result;
            this.count = count;
            endThread = Thread.currentThread();
            recorder.check();
        }

        @Override
        public void error(Throwable error) {
            ends.incrementAndGet();
            failed = true;
            endThread = Thread.currentThread();
            recorder.check();
        }
    }

    /** The in-memory store, with acquire and fail made to throw on demand. */
    static final class FlakyStore implements org.idempotency.api.spi.PurgeableIdempotencyStore {
        final IdempotencyStore delegate;
        final AtomicBoolean failAcquire = new AtomicBoolean();
        final AtomicBoolean failFail = new AtomicBoolean();

        FlakyStore(IdempotencyStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
            if (failAcquire.get()) {
                throw new IdempotencyStoreException("down", key, null);
            }
            return delegate.acquire(key, requestHash, lease);
        }

        @Override
        public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
            return delegate.complete(key, fencingToken, result, retention);
        }

        @Override
        public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
            if (failFail.get()) {
                throw new IdempotencyStoreException("down", key, null);
            }
            return delegate.fail(key, fencingToken, failure, retention);
        }

        @Override
        public boolean release(String key, long fencingToken) {
            return delegate.release(key, fencingToken);
        }

        @Override
        public boolean extend(String key, long fencingToken, Duration lease) {
            return delegate.extend(key, fencingToken, lease);
        }

        @Override
        public Optional<IdempotencyRecord> find(String key) {
            return delegate.find(key);
        }

        @Override
        public long purgeExpired() {
            return ((org.idempotency.api.spi.PurgeableIdempotencyStore) delegate).purgeExpired();
        }
    }
}
