package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.RecordStatus;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ForgetTest {

    private final CallCountingStore store = new CallCountingStore(InMemoryIdempotencyStore.create());

    @Test
    @DisplayName("forgetting a completed key removes it and this node's cache entry: the next call runs the work")
    void forgetsCompleted() {
        try (Idempotency idempotency = Idempotency.builder(store).replayCache(10, 1 << 20)
                .replayCacheMaxAge(Duration.ofSeconds(30)).build()) {
            IdempotentOperation<String> op = idempotency.operation("forget", String.class);
            op.execute("k", "h", () -> "first");

            ForgetOutcome outcome = idempotency.forget("forget", "k");

            assertThat(outcome.result()).isEqualTo(ForgetOutcome.Result.REMOVED);
            assertThat(outcome.removed()).isTrue();
            assertThat(outcome.removedStatus()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(outcome.storedKey()).isEqualTo("forget:k");
            assertThat(outcome.otherNodesMayReplayFor()).isEqualTo(Duration.ofSeconds(30));
            assertThat(op.execute("k", "other request", () -> "second")).isEqualTo("second");
        }
    }

    @Test
    @DisplayName("other nodes' caches replay a forgotten key until their entries reach the maximum age")
    void otherNodesUntilMaxAge() {
        try (Idempotency here = Idempotency.builder(store).build();
                Idempotency there = Idempotency.builder(store).replayCache(10, 1 << 20)
                        .replayCacheMaxAge(Duration.ofMillis(300)).build()) {
            IdempotentOperation<String> local = here.operation("forget", String.class);
            IdempotentOperation<String> remote = there.operation("forget", String.class);
            local.execute("k", null, () -> "first");
            assertThat(remote.execute("k", null, () -> "second")).isEqualTo("first"); // now in its cache

            assertThat(local.forget("k").removed()).isTrue();

            assertThat(remote.execute("k", null, () -> "second")).as("the other node's cache, right after")
                    .isEqualTo("first");
            long start = System.nanoTime();
            ReplayCacheTest.awaitTrue("the other node runs the work again",
                    () -> remote.execute("k", null, () -> "second").equals("second"));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @Test
    @DisplayName("forgetting an in-progress key stops its owner from completing it")
    void forgetsInProgress() {
        RecordingListener listener = new RecordingListener();
        try (Idempotency idempotency = Idempotency.builder(store).listener(listener).build()) {
            IdempotentOperation<String> op = idempotency.operation("forget", String.class);
            Execution<String> running = op.begin("k", "h");

            ForgetOutcome outcome = op.forget("k");

            assertThat(outcome.removedStatus()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(running.complete("late")).isFalse();
            assertThat(listener.count(IdempotencyEvent.Type.LEASE_LOST)).isEqualTo(1);
            assertThat(op.find("k")).isEmpty();
        }
    }

    @Test
    @DisplayName("a key without a record is reported absent; a store without the ability is refused by name")
    void absentAndUnsupported() {
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            ForgetOutcome outcome = idempotency.forget("forget", "nothing");
            assertThat(outcome.result()).isEqualTo(ForgetOutcome.Result.ABSENT);
            assertThat(outcome.otherNodesMayReplayFor()).isZero();
            assertThat(store.forgets.get()).isZero();
        }
        try (Idempotency plain = Idempotency.builder(new BeginAllTest.CountingStore(InMemoryIdempotencyStore.create()))
                .build()) {
            assertThatThrownBy(() -> plain.forget("forget", "k")).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("ForgettingIdempotencyStore").hasMessageContaining("forget:k");
        }
    }

    @Test
    @DisplayName("the outcome checks that a removed status goes with REMOVED only")
    void outcomeValidated() {
        assertThatThrownBy(() -> new ForgetOutcome(ForgetOutcome.Result.ABSENT, "k", RecordStatus.COMPLETED,
                Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ForgetOutcome(ForgetOutcome.Result.REMOVED, "k", null, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
