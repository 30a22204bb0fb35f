package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.RequestHashes;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The handler, its key and hash strategies, and the batch claims, on records built by hand (no broker). */
class IdempotentRecordHandlerTest {

    private final CountingBatchStore store = new CountingBatchStore();
    private final Idempotency idempotency = Idempotency.builder(store).build();
    private final List<String> effects = new ArrayList<>();

    @AfterEach
    void close() {
        idempotency.close();
    }

    static ConsumerRecord<String, String> record(int partition, long offset, String id, String value) {
        ConsumerRecord<String, String> record = new ConsumerRecord<>("orders", partition, offset, "key-" + id, value);
        if (id != null) {
            record.headers().add("message-id", id.getBytes(StandardCharsets.UTF_8));
        }
        return record;
    }

    private IdempotentRecordHandler<String, String> handler(KeyReusePolicy policy) {
        return IdempotentRecordHandler.<String, String>builder(idempotency, "orders", record -> effects.add(
                        record.value()))
                .messageKey(MessageKeyStrategy.header("message-id"))
                .onKeyReuse(policy)
                .build();
    }

    @Nested
    @DisplayName("message keys")
    class MessageKeys {

        @Test
        @DisplayName("topic, partition and offset identify a delivery; a very long topic name is hashed")
        void topicPartitionOffset() {
            MessageKeyStrategy<String, String> strategy = MessageKeyStrategy.topicPartitionOffset();
            assertThat(strategy.messageKey(record(3, 42, "m", "v"))).isEqualTo("orders:3:42");

            String longTopic = "t".repeat(249); // the longest topic name Kafka allows
            assertThat(strategy.messageKey(new ConsumerRecord<>(longTopic, 1, 7, "k", "v")))
                    .isEqualTo(longTopic + ":1:7");
            String key = strategy.messageKey(new ConsumerRecord<>(longTopic, 1, 9_000_000_000L, "k", "v"));
            assertThat(key).isEqualTo("sha256-" + RequestHashes.sha256(longTopic) + ":1:9000000000");
        }

        @Test
        @DisplayName("a header gives the business message id; a missing header falls back, a binary one is refused")
        void header() {
            MessageKeyStrategy<String, String> header = MessageKeyStrategy.header("message-id");
            assertThat(header.messageKey(record(0, 0, "order-17", "v"))).isEqualTo("order-17");
            ConsumerRecord<String, String> without = new ConsumerRecord<>("orders", 0, 5, "k", "v");
            assertThat(header.messageKey(without)).isNull();
            assertThat(header.orElse(MessageKeyStrategy.topicPartitionOffset()).messageKey(without))
                    .isEqualTo("orders:0:5");

            ConsumerRecord<String, String> binary = new ConsumerRecord<>("orders", 0, 6, "k", "v");
            binary.headers().add("message-id", new byte[] {(byte) 0xff, (byte) 0xfe});
            assertThatThrownBy(() -> header.messageKey(binary)).isInstanceOf(RecordIdentityException.class)
                    .hasMessageContaining("orders-0@6").hasMessageContaining("not UTF-8");

            // well-formed text comes back exactly, a genuine U+FFFD included; malformed sequences are refused
            for (String text : List.of("zamówienie-€-😀", "order-\uFFFD-17", "\uFFFD")) {
                ConsumerRecord<String, String> utf8 = new ConsumerRecord<>("orders", 0, 7, "k", "v");
                utf8.headers().add("message-id", text.getBytes(StandardCharsets.UTF_8));
                assertThat(header.messageKey(utf8)).isEqualTo(text);
            }
            byte[][] malformed = {
                {'a', (byte) 0xed, (byte) 0xa0, (byte) 0x80}, // an encoded surrogate
                {(byte) 0xc0, (byte) 0xaf}, // an overlong '/'
                {'o', 'k', (byte) 0xe2, (byte) 0x82}, // a truncated '€'
            };
            for (byte[] bytes : malformed) {
                ConsumerRecord<String, String> bad = new ConsumerRecord<>("orders", 0, 8, "k", "v");
                bad.headers().add("message-id", bytes);
                assertThatThrownBy(() -> header.messageKey(bad)).isInstanceOf(RecordIdentityException.class)
                        .hasMessageContaining("not UTF-8");
            }
        }

        @Test
        @DisplayName("the record key gives text for strings, bytes, numbers and UUIDs, and refuses other types")
        void recordKey() {
            UUID uuid = UUID.randomUUID();
            assertThat(MessageKeyStrategy.<String, String>recordKey().messageKey(record(0, 0, "m", "v")))
                    .isEqualTo("key-m");
            assertThat(MessageKeyStrategy.<byte[], String>recordKey().messageKey(
                    new ConsumerRecord<>("t", 0, 0, "é".getBytes(StandardCharsets.UTF_8), "v"))).isEqualTo("é");
            assertThat(MessageKeyStrategy.<Bytes, String>recordKey().messageKey(
                    new ConsumerRecord<>("t", 0, 0, Bytes.wrap("b".getBytes(StandardCharsets.UTF_8)), "v")))
                    .isEqualTo("b");
            assertThat(MessageKeyStrategy.<Long, String>recordKey().messageKey(new ConsumerRecord<>("t", 0, 0, 42L,
                    "v"))).isEqualTo("42");
            assertThat(MessageKeyStrategy.<UUID, String>recordKey().messageKey(new ConsumerRecord<>("t", 0, 0, uuid,
                    "v"))).isEqualTo(uuid.toString());
            assertThat(MessageKeyStrategy.<String, String>recordKey().messageKey(new ConsumerRecord<>("t", 0, 0, null,
                    "v"))).isNull();
            assertThatThrownBy(() -> MessageKeyStrategy.<Object, String>recordKey().messageKey(
                    new ConsumerRecord<>("t", 0, 0, new Object(), "v"))).isInstanceOf(RecordIdentityException.class);
        }

        @Test
        @DisplayName("a record without a usable key is refused before any store call, naming its coordinates")
        void missingOrInvalidKey() {
            IdempotentRecordHandler<String, String> handler = handler(KeyReusePolicy.FAIL);
            assertThatThrownBy(() -> handler.handle(new ConsumerRecord<>("orders", 2, 9, "k", "v")))
                    .isInstanceOf(RecordIdentityException.class).hasMessageContaining("orders-2@9");
            assertThatThrownBy(() -> handler.handle(record(2, 10, "x".repeat(300), "v")))
                    .isInstanceOf(RecordIdentityException.class).hasMessageContaining("255");
            assertThat(store.acquires.get()).isZero();
            assertThat(effects).isEmpty();
        }
    }

    @Nested
    @DisplayName("request hashes")
    class Hashes {

        @Test
        @DisplayName("the payload hash is SHA-256 of the value bytes, whatever holds them; tombstones have their own")
        void payloadSha256() {
            byte[] bytes = "payload".getBytes(StandardCharsets.UTF_8);
            String expected = RequestHashes.sha256(bytes);
            assertThat(RequestHashStrategy.<String, String>payloadSha256().requestHash(record(0, 0, "m", "payload")))
                    .isEqualTo(expected);
            assertThat(RequestHashStrategy.<String, byte[]>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", bytes))).isEqualTo(expected);
            assertThat(RequestHashStrategy.<String, ByteBuffer>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", ByteBuffer.wrap(bytes)))).isEqualTo(expected);
            ByteBuffer inside = ByteBuffer.wrap(("xx" + "payload" + "yy").getBytes(StandardCharsets.UTF_8), 2, 7);
            assertThat(RequestHashStrategy.<String, ByteBuffer>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", inside))).as("the remaining bytes only").isEqualTo(expected);
            assertThat(inside.position()).as("the buffer's position is not moved").isEqualTo(2);
            assertThat(RequestHashStrategy.<String, Bytes>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", Bytes.wrap(bytes)))).isEqualTo(expected);
            assertThat(RequestHashStrategy.<String, String>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", null))).isEqualTo(RequestHashStrategy.NULL_VALUE_HASH);
            assertThatThrownBy(() -> RequestHashStrategy.<String, Object>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", new Object()))).isInstanceOf(RecordIdentityException.class)
                    .hasMessageContaining("t-0@0");
        }

        @Test
        @DisplayName("two text payloads that differ only by a lone surrogate and a '?' hash apart")
        void loneSurrogates() {
            RequestHashStrategy<String, String> hash = RequestHashStrategy.payloadSha256();

            assertThat(hash.requestHash(record(0, 0, "m", "bo\ud800ok")))
                    .isNotEqualTo(hash.requestHash(record(0, 0, "m", "bo?ok")));
        }
    }

    @Nested
    @DisplayName("handling")
    class Handling {

        @Test
        @DisplayName("the first delivery runs the handler, later ones are duplicates")
        void processedThenDuplicate() throws Exception {
            IdempotentRecordHandler<String, String> handler = handler(KeyReusePolicy.FAIL);

            assertThat(handler.handle(record(0, 1, "m-1", "A"))).isEqualTo(RecordOutcome.PROCESSED);
            assertThat(handler.handle(record(1, 7, "m-1", "A"))).isEqualTo(RecordOutcome.DUPLICATE);
            assertThat(effects).containsExactly("A");
            assertThat(store.find("orders:m-1").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }

        @Test
        @DisplayName("the same id with another payload fails, or is logged and skipped, as configured")
        void keyReuse() throws Exception {
            handler(KeyReusePolicy.FAIL).handle(record(0, 1, "m-1", "A"));

            assertThatThrownBy(() -> handler(KeyReusePolicy.FAIL).handle(record(0, 2, "m-1", "B")))
                    .isInstanceOf(IdempotencyKeyReusedException.class);
            assertThat(handler(KeyReusePolicy.LOG_AND_SKIP).handle(record(0, 3, "m-1", "B")))
                    .isEqualTo(RecordOutcome.SKIPPED_KEY_REUSED);
            assertThat(effects).containsExactly("A");
        }

        @Test
        @DisplayName("a message held elsewhere is reported in progress, and the handler does not run")
        void inProgressElsewhere() {
            Execution<Void> elsewhere = idempotency.operation("orders").begin("m-1", RequestHashes.sha256("A"));

            assertThatThrownBy(() -> handler(KeyReusePolicy.FAIL).handle(record(0, 1, "m-1", "A")))
                    .isInstanceOf(IdempotencyInProgressException.class);
            assertThat(effects).isEmpty();
            elsewhere.release();
        }

        @Test
        @DisplayName("a failing handler's exception comes back unchanged and the key is free for a retry")
        void failureReleases() throws Exception {
            IllegalStateException failure = new IllegalStateException("boom");
            IdempotentRecordHandler<String, String> failing = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "orders", record -> {
                        throw failure;
                    })
                    .messageKey(MessageKeyStrategy.header("message-id")).build();

            assertThatThrownBy(() -> failing.handle(record(0, 1, "m-1", "A"))).isSameAs(failure);
            assertThat(store.find("orders:m-1")).isEmpty();
            assertThat(handler(KeyReusePolicy.FAIL).handle(record(0, 1, "m-1", "A")))
                    .isEqualTo(RecordOutcome.PROCESSED);
        }

        @Test
        @DisplayName("operation names are checked when the handler is built")
        void operationName() {
            assertThatThrownBy(() -> IdempotentRecordHandler.<String, String>builder(idempotency, "a:b", r -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Nested
    @DisplayName("batch claims")
    class BatchClaims {

        @Test
        @DisplayName("a poll's records are claimed in one batch acquire; a second delivery in the batch waits its turn")
        void oneBatchAcquire() throws Exception {
            IdempotentRecordHandler<String, String> handler = handler(KeyReusePolicy.FAIL);
            handler.handle(record(0, 0, "done", "D"));
            store.acquires.set(0);
            List<ConsumerRecord<String, String>> records = List.of(record(0, 1, "m-1", "A"), record(0, 2, "done", "D"),
                    record(1, 1, "m-2", "B"), record(1, 2, "m-1", "A"), new ConsumerRecord<>("orders", 1, 3, "k", "v"));

            IdempotentRecordHandler.Claims claims = handler.claimAll(records);
            assertThat(store.batches.get()).isEqualTo(1);
            assertThat(store.acquires.get()).isZero();

            List<Object> outcomes = new ArrayList<>();
            for (int i = 0; i < records.size(); i++) {
                try {
                    outcomes.add(handler.attempt(records.get(i), claims.get(i)).outcomeOrThrow());
                } catch (RecordIdentityException e) {
                    outcomes.add("unidentifiable");
                }
            }
            claims.discardAll();

            assertThat(outcomes).containsExactly(RecordOutcome.PROCESSED, RecordOutcome.DUPLICATE,
                    RecordOutcome.PROCESSED, RecordOutcome.DUPLICATE, "unidentifiable");
            assertThat(store.acquires.get()).as("only the second delivery of m-1 is acquired on its own").isOne();
            assertThat(effects).containsExactly("D", "A", "B");
        }

        @Test
        @DisplayName("claims of records not handled are released when discarded")
        void discardReleases() {
            IdempotentRecordHandler<String, String> handler = handler(KeyReusePolicy.FAIL);
            List<ConsumerRecord<String, String>> records = List.of(record(0, 1, "m-1", "A"), record(0, 2, "m-2", "B"));

            IdempotentRecordHandler.Claims claims = handler.claimAll(records);
            assertThat(store.find("orders:m-2").orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
            claims.discardAll();

            assertThat(store.find("orders:m-1")).isEmpty();
            assertThat(store.find("orders:m-2")).isEmpty();
        }
    }

    @Nested
    @DisplayName("claims made ahead and their leases")
    class StaleClaims {

        private final FaultInjectingStore faulty = FaultInjectingStore.wrap(InMemoryIdempotencyStore.create());
        private final AtomicInteger leasesLost = new AtomicInteger();
        private final Idempotency shortLease = Idempotency.builder(faulty).lease(Duration.ofMillis(300))
                .listener(event -> {
                    if (event.type() == IdempotencyEvent.Type.LEASE_LOST) {
                        leasesLost.incrementAndGet();
                    }
                }).build();

        @AfterEach
        void closeEngine() {
            shortLease.close();
        }

        private IdempotentRecordHandler<String, String> handler() {
            return IdempotentRecordHandler.<String, String>builder(shortLease, "orders",
                            record -> effects.add(record.value()))
                    .messageKey(MessageKeyStrategy.header("message-id"))
                    .build();
        }

        @Test
        @DisplayName("a batch claim lost before its record is reached never runs the handler: it is claimed again")
        void lostClaimIsNotRun() throws Exception {
            IdempotentRecordHandler<String, String> handler = handler();
            faulty.failAlways(FaultInjectingStore.Operation.EXTEND); // renewals never reach the store
            ConsumerRecord<String, String> record = record(0, 1, "m-1", "A");
            IdempotentRecordHandler.Claims claims = handler.claimAll(List.of(record));
            Await.until(Duration.ofSeconds(30), () -> leasesLost.get() > 0, () -> "the batch claim's lease is lost");
            // another member takes the expired key over and is still at it
            Execution<Void> thief = shortLease.operation("orders").begin("m-1", RequestHashes.sha256("A"));
            assertThat(thief.isOwner()).isTrue();

            IdempotentRecordHandler.Attempt attempt = handler.attempt(record, claims.get(0));

            assertThat(effects).as("the handler never ran on the lost claim").isEmpty();
            assertThat(attempt.kind).isEqualTo(IdempotentRecordHandler.Attempt.Kind.CLAIM_FAILED);
            assertThat(attempt.error).isInstanceOf(IdempotencyInProgressException.class);
            assertThat(thief.complete(null)).as("the new owner keeps the key").isTrue();
            assertThat(handler.attempt(record, null).outcome).isEqualTo(RecordOutcome.DUPLICATE);
            claims.discardAll();
        }

        @Test
        @DisplayName("a batch claim with less than half its lease left is claimed again before the handler runs")
        void lowClaimIsRenewedByClaimingAgain() throws Exception {
            IdempotentRecordHandler<String, String> handler = handler();
            faulty.failAlways(FaultInjectingStore.Operation.EXTEND);
            ConsumerRecord<String, String> record = record(0, 1, "m-1", "A");
            IdempotentRecordHandler.Claims claims = handler.claimAll(List.of(record));
            long firstToken = store(faulty, "orders:m-1").fencingToken();
            Thread.sleep(200); // two thirds of the lease pass without a renewal: less than half is left
            faulty.heal();

            assertThat(handler.attempt(record, claims.get(0)).outcome).isEqualTo(RecordOutcome.PROCESSED);

            assertThat(effects).containsExactly("A");
            IdempotencyRecord completed = store(faulty, "orders:m-1");
            assertThat(completed.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(completed.fencingToken()).as("claimed again").isGreaterThan(firstToken);
        }

        private IdempotencyRecord store(FaultInjectingStore store, String key) {
            return store.delegate().find(key).orElseThrow();
        }
    }

    @Nested
    @DisplayName("interrupts, nested calls and finishing every claim")
    class Finishing {

        @Test
        @DisplayName("an interrupt releases the claim, even where the engine would record the failure")
        void interruptReleases() {
            Idempotency recording = Idempotency.builder(store).permanentFailure(error -> true).build();
            try {
                IdempotentRecordHandler<String, String> interrupted = IdempotentRecordHandler
                        .<String, String>builder(recording, "orders", record -> {
                            throw new InterruptedException("shutting down");
                        })
                        .messageKey(MessageKeyStrategy.header("message-id")).build();

                assertThatThrownBy(() -> interrupted.handle(record(0, 1, "m-1", "A")))
                        .isInstanceOf(InterruptedException.class);
                assertThat(store.find("orders:m-1")).as("released, not recorded as failed").isEmpty();

                IdempotentRecordHandler<String, String> kafkaInterrupted = IdempotentRecordHandler
                        .<String, String>builder(recording, "orders", record -> {
                            throw new InterruptException("woken", new InterruptedException());
                        })
                        .messageKey(MessageKeyStrategy.header("message-id")).build();
                assertThat(kafkaInterrupted.attempt(record(0, 2, "m-2", "B"), null).kind)
                        .isEqualTo(IdempotentRecordHandler.Attempt.Kind.INTERRUPTED);
                assertThat(Thread.interrupted()).as("Kafka's InterruptException keeps the flag set").isTrue();
                assertThat(store.find("orders:m-2")).isEmpty();
            } finally {
                Thread.interrupted();
                recording.close();
            }
        }

        @Test
        @DisplayName("an idempotency exception of the handler's own nested call is the handler's failure, not the claim's")
        void nestedCallsAreTheHandlersFailures() {
            Execution<Void> elsewhere = idempotency.operation("payments").begin("p-1", null);
            IdempotentRecordHandler<String, String> nested = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "orders",
                            record -> idempotency.operation("payments").run("p-1", null, () -> { }))
                    .messageKey(MessageKeyStrategy.header("message-id")).build();

            IdempotentRecordHandler.Attempt attempt = nested.attempt(record(0, 1, "m-1", "A"), null);

            assertThat(attempt.kind).isEqualTo(IdempotentRecordHandler.Attempt.Kind.HANDLER_FAILED);
            assertThat(attempt.error).isInstanceOf(IdempotencyInProgressException.class);
            assertThat(store.find("orders:m-1")).as("the record's own claim was released").isEmpty();

            Execution<Void> heldElsewhere = idempotency.operation("orders").begin("m-2", RequestHashes.sha256("B"));
            IdempotentRecordHandler.Attempt claimHeld = nested.attempt(record(0, 2, "m-2", "B"), null);
            assertThat(claimHeld.kind).isEqualTo(IdempotentRecordHandler.Attempt.Kind.CLAIM_FAILED);
            heldElsewhere.release();
            elsewhere.release();
        }

        @Test
        @DisplayName("a claimed handler's own claim exceptions are the claim's; a claim it leaves open is released")
        void claimedHandlers() {
            IdempotentRecordHandler<String, String> losing = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "orders", (record, claim) -> {
                        claim.release();
                        throw new IdempotencyLeaseLostException(claim.storedKey(), claim.fencingToken());
                    })
                    .messageKey(MessageKeyStrategy.header("message-id")).build();
            assertThat(losing.attempt(record(0, 1, "m-1", "A"), null).kind)
                    .isEqualTo(IdempotentRecordHandler.Attempt.Kind.CLAIM_FAILED);

            IdempotentRecordHandler<String, String> forgetful = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "orders", (record, claim) -> effects.add(record.value()))
                    .messageKey(MessageKeyStrategy.header("message-id")).build();
            assertThat(forgetful.attempt(record(0, 2, "m-2", "B"), null).outcome).isEqualTo(RecordOutcome.PROCESSED);
            assertThat(store.find("orders:m-2")).as("left open, released").isEmpty();
        }

        @Test
        @DisplayName("an Error thrown by the handler still releases the claim, and comes back unchanged")
        void errorsRelease() {
            StackOverflowError overflow = new StackOverflowError("deep");
            IdempotentRecordHandler<String, String> failing = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "orders", record -> {
                        throw overflow;
                    })
                    .messageKey(MessageKeyStrategy.header("message-id")).build();

            assertThatThrownBy(() -> failing.handle(record(0, 1, "m-1", "A"))).isSameAs(overflow);
            assertThat(store.find("orders:m-1")).isEmpty();
        }
    }

    @Nested
    @DisplayName("types")
    class Types {

        @Test
        @DisplayName("a handler from a lambda without parameter types serves String records, in a variable or a loop")
        void untypedLambdaTypeChecks() throws Exception {
            List<Long> offsets = new ArrayList<>();
            IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                    .builder(idempotency, "audit", record -> offsets.add(record.offset()))
                    .build();

            assertThat(handler.handle(record(0, 5, "m-1", "A"))).isEqualTo(RecordOutcome.PROCESSED);
            assertThat(offsets).containsExactly(5L);
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9",
                    ConsumerConfig.GROUP_ID_CONFIG, "types",
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                    new StringDeserializer(), new StringDeserializer())) {
                IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop.builder(consumer,
                        IdempotentRecordHandler.builder(idempotency, "audit", record -> offsets.add(record.offset()))
                                .build())
                        .topics("orders").build();
                assertThat(loop.stoppedPartitions()).isEmpty();
            }
        }
    }
}
