package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.core.IdempotentOperation.Request;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ReplayCacheTest {

    private final CallCountingStore store = new CallCountingStore(InMemoryIdempotencyStore.create());

    private Idempotency.Builder cached() {
        return Idempotency.builder(store).replayCache(1_000, 1 << 20);
    }

    @Test
    @DisplayName("a record this node completed is replayed without a store call, decoded afresh each time")
    void ownCompletionReplaysFromCache() {
        try (Idempotency idempotency = cached().build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            assertThat(op.execute("k", "h", () -> "first")).isEqualTo("first");
            int reads = store.reads();

            for (int i = 0; i < 3; i++) {
                assertThat(op.execute("k", "h", () -> "again")).isEqualTo("first");
            }

            assertThat(store.reads()).as("store calls for the replays").isEqualTo(reads);
        }
    }

    @Test
    @DisplayName("a replay read from the store once is answered from the cache afterwards")
    void storeReplayIsCached() {
        try (Idempotency writer = Idempotency.builder(store).build();
                Idempotency reader = cached().build()) {
            writer.operation("cache", String.class).execute("k", null, () -> "stored");
            IdempotentOperation<String> op = reader.operation("cache", String.class);

            assertThat(op.execute("k", null, () -> "again")).isEqualTo("stored");
            int reads = store.reads();
            assertThat(op.execute("k", null, () -> "again")).isEqualTo("stored");

            assertThat(store.reads()).isEqualTo(reads);
        }
    }

    @Test
    @DisplayName("the hash check still applies: a key reused with another request is refused from the cache")
    void keyReuseRefusedFromCache() {
        RecordingListener listener = new RecordingListener();
        try (Idempotency idempotency = cached().listener(listener).build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            op.execute("k", "h1", () -> "first");
            int reads = store.reads();

            assertThatThrownBy(() -> op.execute("k", "h2", () -> "other"))
                    .isInstanceOf(IdempotencyKeyReusedException.class);
            assertThat(op.execute("k", null, () -> "no hash")).as("a caller without a hash").isEqualTo("first");

            assertThat(store.reads()).isEqualTo(reads);
            assertThat(listener.count(IdempotencyEvent.Type.KEY_REUSED)).isEqualTo(1);
            assertThat(listener.count(IdempotencyEvent.Type.REPLAYED)).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("a recorded failure is replayed from the cache as IdempotencyReplayedFailureException")
    void failureReplayedFromCache() {
        try (Idempotency idempotency = cached().permanentFailure(e -> e instanceof IllegalArgumentException)
                .build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            assertThatThrownBy(() -> op.execute("k", "h", () -> {
                throw new IllegalArgumentException("bad order");
            })).isInstanceOf(IllegalArgumentException.class);
            int reads = store.reads();

            assertThatThrownBy(() -> op.execute("k", "h", () -> "again"))
                    .isInstanceOf(IdempotencyReplayedFailureException.class)
                    .hasMessageContaining("bad order");

            assertThat(store.reads()).isEqualTo(reads);
        }
    }

    @Test
    @DisplayName("a result that was not kept is answered from the cache as not kept")
    void notKeptFromCache() {
        try (Idempotency idempotency = cached().maxResultBytes(4).build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            op.execute("k", "h", () -> "a result longer than four bytes");
            int reads = store.reads();

            assertThatThrownBy(() -> op.execute("k", "h", () -> "again"))
                    .isInstanceOf(IdempotencyResultNotKeptException.class);

            assertThat(store.reads()).isEqualTo(reads);
        }
    }

    @Test
    @DisplayName("without a cache, every replay reads the store")
    void offByDefault() {
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            op.execute("k", "h", () -> "first");
            int reads = store.reads();

            op.execute("k", "h", () -> "again");
            op.execute("k", "h", () -> "again");

            assertThat(store.reads()).isEqualTo(reads + 2);
            assertThat(idempotency.replayCacheMaxAge()).isZero();
        }
    }

    @Test
    @DisplayName("an entry never outlives its record: once the store forgets it by expiry, the work runs again")
    void expiresWithTheRecord() {
        try (Idempotency writer = Idempotency.builder(store).lease(Duration.ofMillis(100))
                .retention(Duration.ofMillis(400)).maxExecutionTime(Duration.ofSeconds(1)).build();
                Idempotency reader = Idempotency.builder(store).replayCache(100, 1 << 20)
                        .replayCacheClockSkew(Duration.ZERO).build()) {
            IdempotentOperation<String> own = writer.operation("cache", String.class);
            IdempotentOperation<String> read = reader.operation("cache", String.class);
            // the writer's engine caches nothing; give it a cache to check its own completions too
            try (Idempotency cachedWriter = Idempotency.builder(store).lease(Duration.ofMillis(100))
                    .retention(Duration.ofMillis(400)).maxExecutionTime(Duration.ofSeconds(1))
                    .replayCache(100, 1 << 20).build()) {
                IdempotentOperation<String> ownCached = cachedWriter.operation("cache", String.class);
                assertThat(ownCached.execute("mine", null, () -> "v1")).isEqualTo("v1");
                assertThat(own.execute("theirs", null, () -> "v1")).isEqualTo("v1");
                assertThat(read.execute("theirs", null, () -> "v2")).as("read from the store, then cached")
                        .isEqualTo("v1");

                awaitTrue("both records expired in the store", () -> store.find("cache:mine").isEmpty()
                        && store.find("cache:theirs").isEmpty());

                assertThat(ownCached.execute("mine", null, () -> "v2")).as("a completion of this node").isEqualTo("v2");
                assertThat(read.execute("theirs", null, () -> "v2")).as("a record read from the store")
                        .isEqualTo("v2");
            }
        }
    }

    @Test
    @DisplayName("a record read from the store is kept until its end less the allowed clock difference")
    void readEntriesEndBeforeTheRecord() {
        AtomicLong nanos = new AtomicLong(1_000);
        ReplayCache cache = new ReplayCache(10, 1 << 20, Duration.ofHours(1), Duration.ofSeconds(1), nanos::get);
        IdempotencyRecord soon = IdempotencyRecord.completed("op:soon", null, 1, StoredResult.of(new byte[] {1}),
                Instant.now().plusSeconds(10));
        IdempotencyRecord withinSkew = IdempotencyRecord.completed("op:skew", null, 2,
                StoredResult.of(new byte[] {1}), Instant.now().plusMillis(500));

        cache.putRead(soon);
        cache.putRead(withinSkew);

        assertThat(cache.get("op:skew")).as("a record ending within the allowed clock difference").isNull();
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(8));
        assertThat(cache.get("op:soon")).isEqualTo(soon);
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertThat(cache.get("op:soon")).as("one second before the record's end, by this node's clock").isNull();
    }

    @Test
    @DisplayName("an entry lives at most the maximum age, and this node's completions at most the retention")
    void maxAgeAndRetentionBound() {
        AtomicLong nanos = new AtomicLong(0);
        ReplayCache cache = new ReplayCache(10, 1 << 20, Duration.ofSeconds(30), Duration.ZERO, nanos::get);
        IdempotencyRecord read = IdempotencyRecord.completed("op:read", null, 1, StoredResult.of(new byte[] {1}),
                Instant.now().plus(Duration.ofHours(24)));
        IdempotencyRecord own = IdempotencyRecord.completed("op:own", null, 2, StoredResult.of(new byte[] {1}),
                Instant.now().plus(Duration.ofSeconds(10)));
        cache.putRead(read);
        nanos.set(TimeUnit.SECONDS.toNanos(2));
        cache.putFinished(own, 0, Duration.ofSeconds(10)); // the completion was sent 2 s ago

        nanos.set(TimeUnit.SECONDS.toNanos(10) - 1);
        assertThat(cache.get("op:own")).isEqualTo(own);
        nanos.set(TimeUnit.SECONDS.toNanos(10));
        assertThat(cache.get("op:own")).as("one retention after the completion was sent").isNull();
        nanos.set(TimeUnit.SECONDS.toNanos(30) - 1);
        assertThat(cache.get("op:read")).isEqualTo(read);
        nanos.set(TimeUnit.SECONDS.toNanos(30));
        assertThat(cache.get("op:read")).as("at the maximum age").isNull();
    }

    @Test
    @DisplayName("bounded by entries and by bytes, least recently used first out")
    void bounded() {
        ReplayCache byEntries = new ReplayCache(2, 1 << 20, Duration.ofMinutes(1), Duration.ZERO, System::nanoTime);
        byEntries.putFinished(record("op:a", 10), System.nanoTime(), Duration.ofMinutes(1));
        byEntries.putFinished(record("op:b", 10), System.nanoTime(), Duration.ofMinutes(1));
        assertThat(byEntries.get("op:a")).isNotNull(); // a is now more recently used than b
        byEntries.putFinished(record("op:c", 10), System.nanoTime(), Duration.ofMinutes(1));
        assertThat(byEntries.size()).isEqualTo(2);
        assertThat(byEntries.get("op:b")).as("the least recently used").isNull();
        assertThat(byEntries.get("op:a")).isNotNull();

        int weight = ReplayCache.weight(record("op:x", 1_000));
        ReplayCache byBytes = new ReplayCache(100, 2L * weight + 10, Duration.ofMinutes(1), Duration.ZERO,
                System::nanoTime);
        for (String key : List.of("op:x", "op:y", "op:z")) {
            byBytes.putFinished(record(key, 1_000), System.nanoTime(), Duration.ofMinutes(1));
        }
        assertThat(byBytes.size()).isEqualTo(2);
        assertThat(byBytes.bytes()).isLessThanOrEqualTo(2L * weight + 10);
        assertThat(byBytes.get("op:x")).isNull();

        byBytes.putFinished(record("op:huge", 10_000), System.nanoTime(), Duration.ofMinutes(1));
        assertThat(byBytes.get("op:huge")).as("an entry larger than the whole cache").isNull();
        assertThat(byBytes.size()).isEqualTo(2);
    }

    @Test
    @DisplayName("a failed record's failure text counts toward the bytes")
    void failureWeight() {
        IdempotencyRecord failed = IdempotencyRecord.failed("op:f", "h", 1, new StoredFailure("E", "x".repeat(100)),
                Instant.now());
        assertThat(ReplayCache.weight(failed)).isEqualTo(ReplayCache.ENTRY_OVERHEAD_BYTES + 2 * 4 + 2 + 2 + 200);
    }

    @Test
    @DisplayName("beginAll answers cached keys from the cache and sends only the others to the store")
    void beginAllUsesTheCache() {
        try (Idempotency idempotency = cached().build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            op.execute("done", "h", () -> "stored");
            store.acquiredKeys.set(0);

            List<BeginOutcome<String>> outcomes = op.beginAll(List.of(new Request("done", "h"),
                    new Request("new", "h"), new Request("done-other", "h")));

            assertThat(outcomes.get(0).execution().replayedResult()).isEqualTo("stored");
            assertThat(outcomes.get(1).execution().isOwner()).isTrue();
            assertThat(store.acquiredKeys.get()).isEqualTo(2);
            outcomes.get(1).execution().release();
            outcomes.get(2).execution().release();
            assertThatThrownBy(() -> op.beginAll(List.of(new Request("done", "other"))).get(0).execution())
                    .isInstanceOf(IdempotencyKeyReusedException.class);
        }
    }

    @Test
    @DisplayName("a takeover's completion is not cached (the record keeps the earlier owner's hash)")
    void takeoverNotCached() {
        try (Idempotency idempotency = cached().lease(Duration.ofMillis(100))
                .maxExecutionTime(Duration.ofSeconds(1)).build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            long token = ((org.idempotency.api.spi.AcquireResult.Acquired) store.delegate.acquire("cache:k", "h",
                    Duration.ofMillis(50))).fencingToken();
            awaitTrue("the first lease ended", () -> store.delegate.find("cache:k").orElseThrow().leaseExpiresAt()
                    .isBefore(Instant.now().minusMillis(5)));
            Execution<String> takeover = op.begin("k", null);
            assertThat(takeover.isTakeover()).isTrue();
            assertThat(takeover.fencingToken()).isGreaterThan(token);
            takeover.complete("taken");
            int reads = store.reads();

            assertThat(op.execute("k", "h", () -> "again")).isEqualTo("taken");
            assertThat(store.reads()).as("read from the store once").isEqualTo(reads + 1);
        }
    }

    @Test
    @DisplayName("a completion written through the caller's writer is not cached (its transaction may roll back)")
    void writerCompletionNotCached() {
        try (Idempotency idempotency = cached().build()) {
            IdempotentOperation<String> op = idempotency.operation("cache", String.class);
            Execution<String> execution = op.begin("k", "h");
            AtomicInteger written = new AtomicInteger();
            execution.complete("v", 0, (key, token, result, retention) -> {
                written.incrementAndGet();
                return store.complete(key, token, result, retention);
            });
            int reads = store.reads();

            assertThat(op.execute("k", "h", () -> "again")).isEqualTo("v");
            assertThat(written.get()).isEqualTo(1);
            assertThat(store.reads()).isEqualTo(reads + 1);
        }
    }

    @Test
    @DisplayName("the settings are validated")
    void settingsValidated() {
        Idempotency.Builder builder = Idempotency.builder(store);
        assertThatThrownBy(() -> builder.replayCache(0, 1)).hasMessageContaining("maxEntries");
        assertThatThrownBy(() -> builder.replayCache(1, 0)).hasMessageContaining("maxBytes");
        assertThatThrownBy(() -> builder.replayCacheMaxAge(Duration.ZERO)).hasMessageContaining("replayCacheMaxAge");
        assertThatThrownBy(() -> builder.replayCacheClockSkew(Duration.ofSeconds(-1)))
                .hasMessageContaining("replayCacheClockSkew");
    }

    private static IdempotencyRecord record(String key, int payloadBytes) {
        return IdempotencyRecord.completed(key, null, 1, StoredResult.of(new byte[payloadBytes]),
                Instant.now().plusSeconds(60));
    }

    static void awaitTrue(String what, BooleanSupplier condition) {
        awaitTrue(what, Duration.ofSeconds(10), condition);
    }

    static void awaitTrue(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out waiting until " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
