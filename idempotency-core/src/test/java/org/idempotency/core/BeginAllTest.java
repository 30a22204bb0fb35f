package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.IdempotentOperation.Request;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class BeginAllTest {

    private final InMemoryIdempotencyStore memory = InMemoryIdempotencyStore.create();

    @Test
    @DisplayName("with a batch store, every key is acquired in one acquireAll call, each outcome as begin gives it")
    void batchStore() {
        CountingStore store = new CountingBatchStore(memory);
        try (Idempotency idempotency = Idempotency.builder(store).waitForInProgress(Duration.ofSeconds(5)).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            prepare(op);
            store.reset();

            List<BeginOutcome<String>> outcomes = op.beginAll(requests());

            assertThat(store.batchCalls.get()).isEqualTo(1);
            assertThat(store.singleCalls.get()).isZero();
            checkOutcomes(outcomes);
        }
    }

    @Test
    @DisplayName("without the batch ability, each key is acquired in turn, with the same outcomes")
    void plainStore() {
        CountingStore store = new CountingStore(memory);
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            prepare(op);
            store.reset();

            List<BeginOutcome<String>> outcomes = op.beginAll(requests());

            assertThat(store.batchCalls.get()).isZero();
            assertThat(store.singleCalls.get()).isEqualTo(6);
            checkOutcomes(outcomes);
        }
    }

    @Test
    @DisplayName("an invalid key fails on its own, before any store call; duplicate keys are refused")
    void invalidAndDuplicateKeys() {
        CountingStore store = new CountingBatchStore(memory);
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);

            List<BeginOutcome<String>> outcomes = op.beginAll(List.of(new Request("ok", null),
                    new Request(" ", null)));

            assertThat(outcomes.get(0).execution().isOwner()).isTrue();
            assertThat(outcomes.get(1).isBegun()).isFalse();
            assertThat(outcomes.get(1).failure()).isInstanceOf(InvalidIdempotencyKeyException.class);
            assertThatThrownBy(() -> outcomes.get(1).execution()).isInstanceOf(InvalidIdempotencyKeyException.class);
            outcomes.get(0).execution().release();

            store.reset();
            assertThatThrownBy(() -> op.beginAll(List.of(new Request("a", null), new Request("a", null))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("distinct");
            assertThat(op.beginAll(List.of())).isEmpty();
            assertThat(store.batchCalls.get() + store.singleCalls.get()).isZero();
        }
    }

    @Test
    @DisplayName("a failing acquireAll fails every key closed, or runs them unprotected when failing open")
    void storeFault() {
        CountingBatchStore store = new CountingBatchStore(memory);
        store.failing = true;
        try (Idempotency closed = Idempotency.builder(store).build();
                Idempotency open = Idempotency.builder(store).failOpen(true).build()) {
            List<BeginOutcome<String>> failed = closed.operation("batch", String.class)
                    .beginAll(List.of(new Request("a", null), new Request("b", null)));
            assertThat(failed).allSatisfy(outcome ->
                    assertThat(outcome.failure()).isInstanceOf(IdempotencyStoreException.class));

            List<BeginOutcome<String>> unprotected = open.operation("batch", String.class)
                    .beginAll(List.of(new Request("a", null), new Request("b", null)));
            assertThat(unprotected).allSatisfy(outcome ->
                    assertThat(outcome.execution().isUnprotected()).isTrue());
        }
    }

    /** k-completed is done, k-running is held, k-reused holds another request, k-failed failed permanently. */
    private static void prepare(IdempotentOperation<String> op) {
        op.execute("k-completed", "h", () -> "done");
        op.begin("k-running", "h"); // left open: in progress, renewed until the engine closes
        op.execute("k-reused", "h1", () -> "first");
        op.begin("k-failed", "h").fail(new IllegalStateException("permanent"));
    }

    private static List<Request> requests() {
        return List.of(new Request("k-fresh-1", "h"), new Request("k-completed", "h"),
                new Request("k-running", "h"), new Request("k-reused", "h2"), new Request("k-failed", "h"),
                new Request("k-fresh-2", null));
    }

    private void checkOutcomes(List<BeginOutcome<String>> outcomes) {
        assertThat(outcomes).hasSize(6);
        Execution<String> fresh1 = outcomes.get(0).execution();
        assertThat(fresh1.isOwner()).isTrue();
        assertThat(outcomes.get(1).execution().replayedResult()).isEqualTo("done");
        assertThat(outcomes.get(2).failure()).isInstanceOf(IdempotencyInProgressException.class);
        assertThat(outcomes.get(3).failure()).isInstanceOf(IdempotencyKeyReusedException.class);
        assertThat(outcomes.get(4).failure()).isInstanceOf(IdempotencyReplayedFailureException.class);
        Execution<String> fresh2 = outcomes.get(5).execution();
        assertThat(fresh2.fencingToken()).isNotEqualTo(fresh1.fencingToken());

        assertThat(fresh1.complete("one")).isTrue();
        assertThat(memory.find("batch:k-fresh-1").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(memory.find("batch:k-fresh-2").orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
        fresh2.close();
        assertThat(memory.find("batch:k-fresh-2")).isEmpty();
    }

    /** Delegates to a store and counts acquire calls; offers no batch ability. */
    static class CountingStore implements IdempotencyStore {
        final IdempotencyStore delegate;
        final AtomicInteger singleCalls = new AtomicInteger();
        final AtomicInteger batchCalls = new AtomicInteger();

        CountingStore(IdempotencyStore delegate) {
            this.delegate = delegate;
        }

        void reset() {
            singleCalls.set(0);
            batchCalls.set(0);
        }

        @Override
        public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
            singleCalls.incrementAndGet();
            return delegate.acquire(key, requestHash, lease);
        }

        @Override
        public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
            return delegate.complete(key, fencingToken, result, retention);
        }

        @Override
        public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
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
    }

    /** The same, with the batch ability of the in-memory store, and a switch to make it fail. */
    static final class CountingBatchStore extends CountingStore implements BatchAcquiringIdempotencyStore {
        volatile boolean failing;

        CountingBatchStore(InMemoryIdempotencyStore delegate) {
            super(delegate);
        }

        @Override
        public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
            batchCalls.incrementAndGet();
            if (failing) {
                throw new IdempotencyStoreException("injected fault", null, new IllegalStateException("down"));
            }
            return ((InMemoryIdempotencyStore) delegate).acquireAll(requests, lease);
        }
    }
}
