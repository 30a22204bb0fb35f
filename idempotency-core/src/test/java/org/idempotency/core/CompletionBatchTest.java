package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.IdempotentOperation.Request;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CompletionBatchTest {

    private final CallCountingStore store = new CallCountingStore(InMemoryIdempotencyStore.create());
    private final RecordingListener listener = new RecordingListener();

    private List<Execution<String>> begin(IdempotentOperation<String> op, String... keys) {
        List<Request> requests = new ArrayList<>();
        for (String key : keys) {
            requests.add(new Request(key, "h"));
        }
        List<Execution<String>> executions = new ArrayList<>();
        for (BeginOutcome<String> outcome : op.beginAll(requests)) {
            executions.add(outcome.execution());
        }
        return executions;
    }

    @Test
    @DisplayName("with a batch store, every execution is completed in one completeAll call, then replays")
    void oneCallForTheBatch() {
        try (Idempotency idempotency = Idempotency.builder(store).listener(listener).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            List<Execution<String>> executions = begin(op, "a", "b", "c");
            CompletionBatch batch = idempotency.completionBatch();
            for (Execution<String> execution : executions) {
                batch.add(execution, "result of " + execution.key());
            }

            assertThat(batch.size()).isEqualTo(3);
            assertThat(batch.complete()).containsExactly(true, true, true);

            assertThat(store.completeAlls.get()).isEqualTo(1);
            assertThat(store.completes.get()).isZero();
            assertThat(listener.count(IdempotencyEvent.Type.COMPLETED)).isEqualTo(3);
            assertThat(op.execute("b", "h", () -> "again")).isEqualTo("result of b");
            assertThat(executions.get(0).isLeaseLost()).isFalse();
        }
    }

    @Test
    @DisplayName("without the batch ability, each execution is completed in turn, with the same outcomes")
    void plainStoreInTurn() {
        BeginAllTest.CountingStore plain = new BeginAllTest.CountingStore(InMemoryIdempotencyStore.create());
        try (Idempotency idempotency = Idempotency.builder(plain).listener(listener).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            List<Execution<String>> executions = begin(op, "a", "b");
            CompletionBatch batch = idempotency.completionBatch();
            executions.forEach(execution -> batch.add(execution, "v"));

            assertThat(batch.complete()).containsExactly(true, true);

            assertThat(listener.count(IdempotencyEvent.Type.COMPLETED)).isEqualTo(2);
            assertThat(op.find("a").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }

    @Test
    @DisplayName("fencing is checked per record: one that lost its record answers false and is reported, the rest"
            + " complete")
    void fencingPerRecord() {
        try (Idempotency idempotency = Idempotency.builder(store).listener(listener).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            List<Execution<String>> executions = begin(op, "a", "lost", "c");
            store.delegate.forget("batch:lost", executions.get(1).fencingToken());
            CompletionBatch batch = idempotency.completionBatch();
            executions.forEach(execution -> batch.add(execution, "v"));

            assertThat(batch.complete()).containsExactly(true, false, true);

            assertThat(listener.count(IdempotencyEvent.Type.COMPLETED)).isEqualTo(2);
            assertThat(listener.events).filteredOn(event -> event.type() == IdempotencyEvent.Type.LEASE_LOST)
                    .singleElement().satisfies(event -> assertThat(event.key()).isEqualTo("lost"));
            assertThat(op.find("lost")).isEmpty();
        }
    }

    @Test
    @DisplayName("a store fault answers false for every execution and reports each as STORE_ERROR")
    void storeFault() {
        try (Idempotency idempotency = Idempotency.builder(store).listener(listener).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            List<Execution<String>> executions = begin(op, "a", "b");
            store.failCompleteAll = true;
            CompletionBatch batch = idempotency.completionBatch();
            executions.forEach(execution -> batch.add(execution, "v"));

            assertThat(batch.complete()).containsExactly(false, false);

            assertThat(listener.count(IdempotencyEvent.Type.STORE_ERROR)).isEqualTo(2);
            assertThatThrownBy(() -> executions.get(0).complete("again")).as("each execution is finished")
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    @DisplayName("a result over the size limit closes its record without it, as a single completion does")
    void resultNotKept() {
        try (Idempotency idempotency = Idempotency.builder(store).listener(listener).maxResultBytes(8).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            List<Execution<String>> executions = begin(op, "small", "large");
            CompletionBatch batch = idempotency.completionBatch()
                    .add(executions.get(0), "s", 201)
                    .add(executions.get(1), "a result over eight bytes");

            assertThat(batch.complete()).containsExactly(true, true);

            assertThat(listener.count(IdempotencyEvent.Type.RESULT_NOT_KEPT)).isEqualTo(1);
            assertThat(op.find("small").orElseThrow().result().statusCode()).isEqualTo(201);
            assertThatThrownBy(() -> op.execute("large", "h", () -> "again"))
                    .isInstanceOf(IdempotencyResultNotKeptException.class);
        }
    }

    @Test
    @DisplayName("refuses replays, a key twice, another engine's executions, a second complete, and finished"
            + " executions (then completing nothing)")
    void refusals() {
        try (Idempotency idempotency = Idempotency.builder(store).build();
                Idempotency other = Idempotency.builder(store).build()) {
            IdempotentOperation<String> op = idempotency.operation("batch", String.class);
            op.execute("done", "h", () -> "v");
            Execution<String> replay = op.begin("done", "h");
            Execution<String> owned = op.begin("a", "h");
            Execution<String> finished = op.begin("b", "h");
            Execution<String> foreign = other.operation("batch", String.class).begin("c", "h");

            assertThatThrownBy(() -> idempotency.completionBatch().add(replay, "v"))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("replayed");
            assertThatThrownBy(() -> idempotency.completionBatch().add(owned, "v").add(owned, "w"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch:a");
            assertThatThrownBy(() -> idempotency.completionBatch().add(foreign, "v"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("another Idempotency engine");
            assertThatThrownBy(() -> idempotency.completionBatch().add(owned, "v", -1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("statusCode");

            CompletionBatch batch = idempotency.completionBatch().add(owned, "v").add(finished, "v");
            finished.release();
            assertThatThrownBy(batch::complete).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("nothing in the batch was completed");
            assertThat(owned.complete("later")).as("the other execution stayed open").isTrue();

            CompletionBatch once = idempotency.completionBatch().add(foreignFree(op), "v");
            once.complete();
            assertThatThrownBy(once::complete).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> once.add(op.begin("e", "h"), "v")).isInstanceOf(IllegalStateException.class);
            foreign.release();
        }
    }

    private static Execution<String> foreignFree(IdempotentOperation<String> op) {
        return op.begin("d", "h");
    }

    @Test
    @DisplayName("executions of several operations of one engine complete in one batch")
    void severalOperations() {
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            IdempotentOperation<String> first = idempotency.operation("first", String.class);
            IdempotentOperation<Integer> second = idempotency.operation("second", Integer.class);
            CompletionBatch batch = idempotency.completionBatch()
                    .add(first.begin("k", null), "one")
                    .add(second.begin("k", null), 2);

            assertThat(batch.complete()).containsExactly(true, true);
            assertThat(store.completeAlls.get()).isEqualTo(1);
            assertThat(second.execute("k", null, () -> 3)).isEqualTo(2);
        }
    }

    @Test
    @DisplayName("an empty batch makes no store call")
    void emptyBatch() {
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            assertThat(idempotency.completionBatch().complete()).isEmpty();
            assertThat(store.completeAlls.get()).isZero();
        }
    }
}
