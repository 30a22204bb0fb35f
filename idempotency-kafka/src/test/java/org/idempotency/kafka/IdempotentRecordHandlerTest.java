package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Bytes;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.RequestHashes;
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
            assertThat(RequestHashStrategy.<String, Bytes>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", Bytes.wrap(bytes)))).isEqualTo(expected);
            assertThat(RequestHashStrategy.<String, String>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", null))).isEqualTo(RequestHashStrategy.NULL_VALUE_HASH);
            assertThatThrownBy(() -> RequestHashStrategy.<String, Object>payloadSha256().requestHash(
                    new ConsumerRecord<>("t", 0, 0, "k", new Object()))).isInstanceOf(RecordIdentityException.class)
                    .hasMessageContaining("t-0@0");
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
                    outcomes.add(handler.handle(records.get(i), claims.get(i)));
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
}
