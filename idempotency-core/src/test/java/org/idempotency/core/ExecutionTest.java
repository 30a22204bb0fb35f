package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.api.StoredResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ExecutionTest {

    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();
    private final Idempotency idempotency = Idempotency.builder(store).build();
    private final IdempotentOperation<String> op = idempotency.operation("manual", String.class);

    @AfterEach
    void close() {
        idempotency.close();
    }

    @Test
    @DisplayName("begin then complete stores the result with a status code; the next begin replays it")
    void beginComplete() {
        try (Execution<String> execution = op.begin("k", "h")) {
            assertThat(execution.isOwner()).isTrue();
            assertThat(execution.fencingToken()).isPositive();
            assertThat(execution.storedKey()).isEqualTo("manual:k");
            assertThat(execution.complete("value", 201)).isTrue();
        }
        assertThat(store.find("manual:k").orElseThrow().result().statusCode()).isEqualTo(201);

        Execution<String> replay = op.begin("k", "h");
        assertThat(replay.isReplay()).isTrue();
        assertThat(replay.replayedResult()).isEqualTo("value");
        assertThatThrownBy(() -> replay.complete("x")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @DisplayName("an owned execution is renewed until it finishes, then forgotten by the renewer")
    void renewalRegistration() {
        Execution<String> execution = op.begin("k", "h");
        assertThat(idempotency.renewer.running()).isEqualTo(1);

        execution.complete("v");

        assertThat(idempotency.renewer.running()).isZero();
        op.execute("k2", "h", () -> "w");
        assertThatThrownBy(() -> op.execute("k3", "h", () -> {
            throw new IllegalStateException("x");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(op.begin("k", "h").isReplay()).isTrue();
        assertThat(idempotency.renewer.running()).isZero();
    }

    @Test
    @DisplayName("an execution its caller dropped unfinished is released when garbage-collected, and reported")
    void droppedExecutionIsReleased() throws Exception {
        List<IdempotencyEvent> events = new CopyOnWriteArrayList<>();
        try (Idempotency engine = Idempotency.builder(store).listener(events::add).build()) {
            IdempotentOperation<String> dropping = engine.operation("dropping", String.class);
            beginAndDrop(dropping);
            assertThat(engine.renewer.running()).isEqualTo(1);

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (store.find("dropping:dropped").isPresent() && System.nanoTime() - deadline < 0) {
                System.gc();
                Thread.sleep(20);
            }

            assertThat(store.find("dropping:dropped")).as("released after the execution was collected").isEmpty();
            assertThat(events).extracting(IdempotencyEvent::type).contains(IdempotencyEvent.Type.LEAKED);
            assertThat(engine.renewer.running()).isZero();
        }
    }

    /** Begins an execution and keeps no reference to it, as a caller that forgot to finish it would. */
    private static void beginAndDrop(IdempotentOperation<String> operation) {
        assertThat(operation.begin("dropped", "h").isOwner()).isTrue();
    }

    @Test
    @DisplayName("a codec that throws an Error still closes the record, not kept, and the Error reaches the caller")
    void codecError() {
        ResultCodec breaking = new ResultCodec() {
            @Override
            public <T> Typed<T> forType(TypeRef<T> type) {
                return new Typed<>() {
                    @Override
                    public byte[] encode(T value) {
                        throw new StackOverflowError("a structure too deep to encode");
                    }

                    @Override
                    public T decode(byte[] bytes) {
                        throw new AssertionError("never decoded");
                    }
                };
            }
        };
        try (Idempotency engine = Idempotency.builder(store).codec(breaking).build()) {
            IdempotentOperation<String> deep = engine.operation("deep", String.class);
            Execution<String> execution = deep.begin("k", "h");

            assertThatThrownBy(() -> execution.complete("value")).isInstanceOf(StackOverflowError.class);

            assertThat(store.find("deep:k").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
            assertThatThrownBy(() -> deep.begin("k", "h"))
                    .isInstanceOf(org.idempotency.api.IdempotencyResultNotKeptException.class);
        }
    }

    @Test
    @DisplayName("completing without a result closes the record, and replays say the result was not kept")
    void completeWithoutResult() {
        Execution<String> execution = op.begin("k", "h");

        assertThat(execution.completeWithoutResult(413)).isTrue();

        StoredResult stored = store.find("manual:k").orElseThrow().result();
        assertThat(stored.kept()).isFalse();
        assertThat(stored.statusCode()).isEqualTo(413);
        assertThatThrownBy(() -> op.begin("k", "h"))
                .isInstanceOf(org.idempotency.api.IdempotencyResultNotKeptException.class);
    }

    @Test
    @DisplayName("closing an unfinished execution releases the key")
    void closeReleases() {
        try (Execution<String> execution = op.begin("k", "h")) {
            assertThat(execution.isOwner()).isTrue();
        }
        assertThat(store.find("manual:k")).isEmpty();
    }

    @Test
    @DisplayName("an execution finishes once")
    void finishOnce() {
        Execution<String> execution = op.begin("k", "h");
        execution.complete("v");

        assertThatThrownBy(() -> execution.release()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already finished");
        assertThatThrownBy(() -> execution.replayedResult()).isInstanceOf(IllegalStateException.class);
        execution.close();
        assertThat(store.find("manual:k").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
    }

    @Test
    @DisplayName("a completion writer gets the stored key, token, encoded result and retention")
    void completionWriter() {
        Execution<String> execution = op.begin("k", "h");
        AtomicReference<StoredResult> written = new AtomicReference<>();

        boolean completed = execution.complete("v", 0, (key, token, result, retention) -> {
            written.set(result);
            return store.complete(key, token, result, retention);
        });

        assertThat(completed).isTrue();
        assertThat(written.get().payload()).asString().isEqualTo("\"v\"");
    }

    @Test
    @DisplayName("a completion writer that throws leaves the execution open, so it can still be released")
    void completionWriterThrows() {
        Execution<String> execution = op.begin("k", "h");

        assertThatThrownBy(() -> execution.complete("v", 0, (key, token, result, retention) -> {
            throw new IllegalStateException("transaction rolled back");
        })).hasMessage("transaction rolled back");
        assertThat(execution.release()).isTrue();
        assertThat(store.find("manual:k")).isEmpty();
    }

    @Test
    @DisplayName("an in-progress answer's retry hint is the lease left, clamped to between 1 s and one lease")
    void retryHintClamped() {
        Duration lease = Duration.ofSeconds(30);
        // the store's clock is 29.7 s behind this node's: the owner's lease ends 300 ms from now as seen here
        assertThat(retryHint(Instant.now().minus(Duration.ofMillis(29_700)), lease)).isEqualTo(Duration.ofSeconds(1));
        // an hour ahead: the lease seems to end in an hour and 30 s; the hint is never more than one lease
        assertThat(retryHint(Instant.now().plus(Duration.ofHours(1)), lease)).isEqualTo(lease);
        assertThat(retryHint(Instant.now(), lease)).isBetween(Duration.ofSeconds(25), lease);
        // a lease shorter than 1 s still gives 1 s
        assertThat(retryHint(Instant.now(), Duration.ofMillis(500))).isEqualTo(Duration.ofSeconds(1));
    }

    private static Duration retryHint(Instant storeNow, Duration lease) {
        InMemoryIdempotencyStore skewed = InMemoryIdempotencyStore.withClock(InstantSource.fixed(storeNow));
        try (Idempotency engine = Idempotency.builder(skewed).lease(lease).build()) {
            IdempotentOperation<String> operation = engine.operation("hint", String.class);
            try (Execution<String> owner = operation.begin("k", "h")) {
                assertThat(owner.isOwner()).isTrue();
                AtomicReference<Duration> hint = new AtomicReference<>();
                assertThatThrownBy(() -> operation.begin("k", "h")).isInstanceOfSatisfying(
                        IdempotencyInProgressException.class, e -> hint.set(e.retryAfter()));
                return hint.get();
            }
        }
    }

    @Test
    @DisplayName("a listener that throws an Error is logged, on the caller's thread and on the reporting thread, and"
            + " renewal goes on")
    void listenerErrorsLogged() throws Exception {
        List<IdempotencyEvent.Type> renewals = new CopyOnWriteArrayList<>();
        try (CapturedLog log = new CapturedLog();
                Idempotency engine = Idempotency.builder(store).lease(Duration.ofMillis(600)).listener(event -> {
                    if (event.type() == IdempotencyEvent.Type.LEASE_RENEWED) {
                        renewals.add(event.type());
                    }
                    throw new AssertionError("a listener that breaks on " + event.type());
                }).build()) {
            try (Execution<String> execution = engine.operation("noisy", String.class).begin("k", "h")) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (renewals.size() < 3 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(renewals).as("renewals after listeners that threw").hasSizeGreaterThanOrEqualTo(3);
                assertThat(execution.isLeaseLost()).isFalse();
                assertThat(execution.complete("done")).isTrue();
            }
            assertThat(log.text())
                    .contains("failed on ACQUIRED event; ignored").contains("a listener that breaks on ACQUIRED")
                    .contains("failed on LEASE_RENEWED event; ignored")
                    .contains("a listener that breaks on LEASE_RENEWED");
        }
    }
}
