package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.RequestHashes;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The consumer loop and the deduplicator against a real broker (started in this JVM once for the class): each
 * test uses its own topic, group and operation, and the in-memory store shared by the test's consumers.
 */
class IdempotentConsumerLoopKafkaTest {

    static final String HEADER = "message-id";
    static final String OPERATION = "kafka-test";
    static final Duration WAIT = Duration.ofSeconds(60);

    private static KafkaTestBroker broker;

    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();
    private final Effects effects = new Effects();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaTestBroker.shared();
    }

    @AfterEach
    void closeResources() throws Exception {
        Collections.reverse(resources);
        for (AutoCloseable resource : resources) {
            resource.close();
        }
        threads.shutdownNow();
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).as("loop threads ended").isTrue();
    }

    private Idempotency engine(IdempotencyStore storeToUse) {
        Idempotency idempotency = Idempotency.builder(storeToUse).build();
        resources.add(idempotency);
        return idempotency;
    }

    private IdempotentRecordHandler.Builder<String, String> handler(Idempotency idempotency,
            RecordHandler<String, String> work) {
        return IdempotentRecordHandler.builder(idempotency, OPERATION, work)
                .messageKey(MessageKeyStrategy.header(HEADER));
    }

    private IdempotentConsumerLoop<String, String> start(IdempotentConsumerLoop<String, String> loop) {
        resources.add(loop);
        threads.submit(loop);
        return loop;
    }

    static ProducerRecord<String, String> message(String topic, int partition, String id, String payload) {
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, partition, id, payload);
        record.headers().add(HEADER, id.getBytes(StandardCharsets.UTF_8));
        return record;
    }

    static String id(ConsumerRecord<String, String> record) {
        Header header = record.headers().lastHeader(HEADER);
        return new String(header.value(), StandardCharsets.UTF_8);
    }

    static String header(ConsumerRecord<String, String> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    @Test
    @DisplayName("the same message produced three times has its effect once; different messages all have theirs")
    void sameMessageProducedThreeTimes() throws Exception {
        String topic = broker.createTopic("three-times", 3);
        String group = KafkaTestBroker.group("three-times");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            records.add(message(topic, i % 3, "m-" + i, "payload-" + i));
        }
        for (int partition = 0; partition < 3; partition++) { // the same message, produced three times
            records.add(message(topic, partition, "m-dup", "the same payload"));
        }
        broker.send(records);

        Idempotency idempotency = engine(store);
        start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> effects.record(id(record))).build()).topics(topic).build());

        broker.awaitFullyCommitted(group, topic, 3, WAIT);
        assertThat(effects.of("m-dup")).isEqualTo(1);
        for (int i = 0; i < 30; i++) {
            assertThat(effects.of("m-" + i)).as("m-" + i).isEqualTo(1);
        }
        assertThat(effects.total()).isEqualTo(31);
    }

    @Test
    @DisplayName("a handler that fails twice then succeeds runs to completion once; the offset passes it only after")
    void failsTwiceThenSucceeds() throws Exception {
        String topic = broker.createTopic("fails-twice", 1);
        String group = KafkaTestBroker.group("fails-twice");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            records.add(message(topic, 0, "r-" + i, "payload-" + i));
        }
        broker.send(records);
        TopicPartition partition = new TopicPartition(topic, 0);
        AtomicInteger attempts = new AtomicInteger();
        List<Long> committedWhileFailing = new CopyOnWriteArrayList<>();
        List<String> order = new CopyOnWriteArrayList<>();

        Idempotency idempotency = engine(store);
        start(IdempotentConsumerLoop.builder(broker.consumer(group), handler(idempotency, record -> {
            if (id(record).equals("r-3") && attempts.incrementAndGet() <= 2) {
                committedWhileFailing.add(broker.committed(group, topic).getOrDefault(partition, 0L));
                throw new IllegalStateException("transient failure " + attempts.get());
            }
            effects.record(id(record));
            order.add(id(record));
        }).build()).topics(topic).maxAttempts(3).backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(attempts.get()).isEqualTo(3);
        assertThat(committedWhileFailing).hasSize(2).allSatisfy(offset -> assertThat(offset).isLessThanOrEqualTo(3));
        assertThat(order).containsExactly("r-0", "r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "r-7", "r-8", "r-9");
        assertThat(effects.repeated()).isEmpty();
    }

    @Test
    @DisplayName("a handler that always fails stops its partition at the record: nothing is committed past it")
    void alwaysFailingStopsThePartition() throws Exception {
        String topic = broker.createTopic("always-fails", 2);
        String group = KafkaTestBroker.group("always-fails");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            records.add(message(topic, 0, "a-" + i, "payload-a-" + i));
            records.add(message(topic, 1, "b-" + i, "payload-b-" + i));
        }
        broker.send(records);
        AtomicInteger attempts = new AtomicInteger();

        Idempotency idempotency = engine(store);
        IdempotentConsumerLoop<String, String> loop = start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> {
                    if (id(record).equals("a-4")) {
                        attempts.incrementAndGet();
                        throw new IllegalStateException("poison");
                    }
                    effects.record(id(record));
                }).build()).topics(topic).maxAttempts(3).backoff(Duration.ofMillis(20), Duration.ofMillis(50)).build());

        TopicPartition stoppedPartition = new TopicPartition(topic, 0);
        Await.until(WAIT, () -> loop.stoppedPartitions().containsKey(stoppedPartition),
                () -> "partition 0 stopped; stopped: " + loop.stoppedPartitions());
        Await.until(WAIT, () -> committed(group, topic).equals(Map.of(stoppedPartition, 4L,
                new TopicPartition(topic, 1), 10L)), () -> "committed " + committed(group, topic));

        PartitionStop stop = loop.stoppedPartitions().get(stoppedPartition);
        assertThat(stop.offset()).isEqualTo(4);
        assertThat(stop.attempts()).isEqualTo(3);
        assertThat(stop.error()).contains("IllegalStateException: poison");
        assertThat(attempts.get()).isEqualTo(3);
        for (int i = 0; i < 10; i++) {
            assertThat(effects.of("a-" + i)).as("a-" + i).isEqualTo(i < 4 ? 1 : 0);
            assertThat(effects.of("b-" + i)).as("b-" + i).isEqualTo(1);
        }
        loop.close();
        assertThat(loop.awaitTermination(Duration.ZERO)).isTrue();
        assertThat(committed(group, topic).get(stoppedPartition)).isEqualTo(4);
        assertThat(store.find(OPERATION + ":a-5")).as("claims of records after the stop are released").isEmpty();
    }

    @Test
    @DisplayName("with a dead-letter topic, failing and key-reusing records go there with headers saying why")
    void deadLetterTopic() throws Exception {
        String topic = broker.createTopic("dead-letter", 1);
        String deadLetters = topic + ".DLT";
        broker.admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(deadLetters, 1, (short) 1)))
                .all().get(30, TimeUnit.SECONDS);
        String group = KafkaTestBroker.group("dead-letter");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            records.add(message(topic, 0, "d-" + i, "payload-" + i));
        }
        records.add(message(topic, 0, "d-2", "a different payload")); // offset 10: the key of d-2, reused
        records.add(message(topic, 0, "d-11", "payload-11"));
        broker.send(records);
        AtomicInteger attempts = new AtomicInteger();
        KafkaProducer<String, String> producer = broker.producer();
        resources.add(producer);

        Idempotency idempotency = engine(store);
        IdempotentConsumerLoop<String, String> loop = start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> {
                    if (id(record).equals("d-4")) {
                        attempts.incrementAndGet();
                        throw new IllegalStateException("poison");
                    }
                    effects.record(id(record));
                }).build()).topics(topic).maxAttempts(3).backoff(Duration.ofMillis(20), Duration.ofMillis(50))
                .deadLetter(producer).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(loop.stoppedPartitions()).isEmpty();
        assertThat(attempts.get()).isEqualTo(3);
        assertThat(effects.of("d-4")).isZero();
        assertThat(effects.of("d-2")).isEqualTo(1);
        assertThat(effects.of("d-11")).isEqualTo(1);
        assertThat(effects.total()).isEqualTo(10);

        List<ConsumerRecord<String, String>> dead = broker.readAll(deadLetters, 1, 2, WAIT);
        assertThat(dead).hasSize(2);
        ConsumerRecord<String, String> failed = dead.get(0);
        assertThat(failed.key()).isEqualTo("d-4");
        assertThat(failed.value()).isEqualTo("payload-4");
        assertThat(id(failed)).isEqualTo("d-4");
        assertThat(header(failed, DeadLetterHeaders.REASON)).isEqualTo("handler-failed");
        assertThat(header(failed, DeadLetterHeaders.ATTEMPTS)).isEqualTo("3");
        assertThat(header(failed, DeadLetterHeaders.ORIGINAL_TOPIC)).isEqualTo(topic);
        assertThat(header(failed, DeadLetterHeaders.ORIGINAL_PARTITION)).isEqualTo("0");
        assertThat(header(failed, DeadLetterHeaders.ORIGINAL_OFFSET)).isEqualTo("4");
        assertThat(header(failed, DeadLetterHeaders.CONSUMER_GROUP)).isEqualTo(group);
        assertThat(header(failed, DeadLetterHeaders.EXCEPTION_CLASS)).isEqualTo(IllegalStateException.class.getName());
        assertThat(header(failed, DeadLetterHeaders.EXCEPTION_MESSAGE)).isEqualTo("poison");
        ConsumerRecord<String, String> reused = dead.get(1);
        assertThat(reused.value()).isEqualTo("a different payload");
        assertThat(header(reused, DeadLetterHeaders.REASON)).isEqualTo("key-reused");
        assertThat(header(reused, DeadLetterHeaders.ATTEMPTS)).isEqualTo("1");
        assertThat(header(reused, DeadLetterHeaders.ORIGINAL_OFFSET)).isEqualTo("10");
    }

    @Test
    @DisplayName("shutting down while a record is processed commits the finished records only, and frees the rest")
    void shutdownWhileProcessing() throws Exception {
        String topic = broker.createTopic("shutdown", 1);
        String group = KafkaTestBroker.group("shutdown");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            records.add(message(topic, 0, "s-" + i, "payload-" + i));
        }
        broker.send(records);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);

        Idempotency idempotency = engine(store);
        IdempotentConsumerLoop<String, String> loop = start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> {
                    effects.record(id(record));
                    if (id(record).equals("s-5")) {
                        entered.countDown();
                        assertThat(release.await(60, TimeUnit.SECONDS)).isTrue();
                    }
                }).build()).topics(topic).closeTimeout(Duration.ofSeconds(30)).build());

        assertThat(entered.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(store.find(OPERATION + ":s-6")).as("s-6 is claimed with the batch").isPresent();
        loop.wakeup(); // asks the loop to stop; close() below waits for it
        Future<?> closing = threads.submit(loop::close);
        release.countDown();
        closing.get(60, TimeUnit.SECONDS);

        assertThat(loop.awaitTermination(Duration.ZERO)).isTrue();
        assertThat(committed(group, topic)).isEqualTo(Map.of(new TopicPartition(topic, 0), 6L));
        for (int i = 0; i < 20; i++) {
            assertThat(effects.of("s-" + i)).as("s-" + i).isEqualTo(i <= 5 ? 1 : 0);
        }
        assertThat(store.find(OPERATION + ":s-6")).as("unstarted claims are released").isEmpty();
        assertThat(store.find(OPERATION + ":s-19")).isEmpty();
    }

    @Test
    @DisplayName("close() stops a loop waiting in a long poll at once, and wakeup() ends run()")
    void closeAndWakeupAreBounded() throws Exception {
        String topic = broker.createTopic("idle", 1);
        CountDownLatch assigned = new CountDownLatch(2);
        ConsumerRebalanceListener onAssigned = new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                if (!partitions.isEmpty()) {
                    assigned.countDown();
                }
            }
        };
        Idempotency idempotency = engine(store);
        IdempotentConsumerLoop<String, String> closed = start(IdempotentConsumerLoop.builder(
                broker.consumer(KafkaTestBroker.group("idle-a")), handler(idempotency, record -> { }).build())
                .topics(topic).pollTimeout(Duration.ofSeconds(60)).closeTimeout(Duration.ofSeconds(30))
                .rebalanceListener(onAssigned).build());
        IdempotentConsumerLoop<String, String> wokenUp = IdempotentConsumerLoop.builder(
                broker.consumer(KafkaTestBroker.group("idle-b")), handler(idempotency, record -> { }).build())
                .topics(topic).pollTimeout(Duration.ofSeconds(60)).closeTimeout(Duration.ofSeconds(30))
                .rebalanceListener(onAssigned).build();
        resources.add(wokenUp);
        CompletableFuture<Void> running = CompletableFuture.runAsync(wokenUp, threads);
        assertThat(assigned.await(60, TimeUnit.SECONDS)).isTrue();

        long start = System.nanoTime();
        closed.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(closed.awaitTermination(Duration.ZERO)).isTrue();
        assertThat(closeMillis).as("close() took %d ms; a 60 s poll was woken up", closeMillis).isLessThan(20_000);

        wokenUp.wakeup();
        running.get(20, TimeUnit.SECONDS);
        assertThat(wokenUp.awaitTermination(Duration.ZERO)).isTrue();
    }

    @Test
    @DisplayName("the claims of processed records are completed together: one completeAll per window, none alone")
    void completionsInBatches() throws Exception {
        String topic = broker.createTopic("batch-complete", 1);
        String group = KafkaTestBroker.group("batch-complete");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            records.add(message(topic, 0, "c-" + i, "payload-" + i));
        }
        broker.send(records);
        FaultInjectingStore counting = FaultInjectingStore.wrap(store);

        Idempotency idempotency = engine(counting);
        start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> effects.record(id(record))).build())
                .topics(topic).batchCompletions(true).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(effects.total()).isEqualTo(60);
        assertThat(counting.calls(FaultInjectingStore.Operation.COMPLETE)).as("records completed").isEqualTo(60);
        assertThat(counting.calls(FaultInjectingStore.Operation.COMPLETE_ALL)).as("completion round trips")
                .isBetween(1L, 12L);
        for (int i = 0; i < 60; i++) {
            assertThat(store.find(OPERATION + ":c-" + i).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }

    @Test
    @DisplayName("with batchCompletions(false), each claim is completed on its own right after its record")
    void completionsOneByOne() throws Exception {
        String topic = broker.createTopic("single-complete", 1);
        String group = KafkaTestBroker.group("single-complete");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            records.add(message(topic, 0, "s-" + i, "payload-" + i));
        }
        broker.send(records);
        FaultInjectingStore counting = FaultInjectingStore.wrap(store);

        Idempotency idempotency = engine(counting);
        start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> effects.record(id(record))).build()).topics(topic)
                .batchCompletions(false).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(effects.total()).isEqualTo(20);
        assertThat(counting.calls(FaultInjectingStore.Operation.COMPLETE)).isEqualTo(20);
        assertThat(counting.calls(FaultInjectingStore.Operation.COMPLETE_ALL)).isZero();
    }

    @Test
    @DisplayName("a batch completion that fails commits none of its records: they wait and are completed later")
    void failedBatchCompletionIsNotCommitted() throws Exception {
        String topic = broker.createTopic("batch-complete-fault", 1);
        String group = KafkaTestBroker.group("batch-complete-fault");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(message(topic, 0, "cf-" + i, "payload-" + i));
        }
        broker.send(records);
        FaultInjectingStore faulty = FaultInjectingStore.wrap(store)
                .failNext(FaultInjectingStore.Operation.COMPLETE_ALL, 1);
        List<RecordEvent.Outcome> outcomes = new CopyOnWriteArrayList<>();

        Idempotency idempotency = Idempotency.builder(faulty).lease(Duration.ofMillis(600)).build();
        resources.add(idempotency);
        start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> effects.record(id(record))).build())
                .topics(topic).backoff(Duration.ofMillis(20), Duration.ofMillis(100))
                .batchCompletions(true).recordListener(event -> outcomes.add(event.outcome())).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(outcomes).as("the failed batch's records waited first").contains(RecordEvent.Outcome.WAITING);
        for (int i = 0; i < 5; i++) {
            assertThat(store.find(OPERATION + ":cf-" + i).orElseThrow().status()).as("cf-" + i)
                    .isEqualTo(RecordStatus.COMPLETED);
            assertThat(effects.of("cf-" + i)).as("cf-" + i + ": at least once").isPositive();
        }
    }

    @Test
    @DisplayName("while the store fails, records wait (not skipped, not dead-lettered) and are processed once after")
    void storeFaultsMakeRecordsWait() throws Exception {
        String topic = broker.createTopic("store-fault", 1);
        String group = KafkaTestBroker.group("store-fault");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(message(topic, 0, "f-" + i, "payload-" + i));
        }
        broker.send(records);
        FaultInjectingStore faulty = FaultInjectingStore.wrap(store).failNext(FaultInjectingStore.Operation.ACQUIRE, 4);

        Idempotency idempotency = engine(faulty);
        IdempotentConsumerLoop<String, String> loop = start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> effects.record(id(record))).build())
                .topics(topic).maxAttempts(1).backoff(Duration.ofMillis(20), Duration.ofMillis(100)).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(loop.stoppedPartitions()).isEmpty();
        for (int i = 0; i < 5; i++) {
            assertThat(effects.of("f-" + i)).as("f-" + i).isEqualTo(1);
        }
        assertThat(faulty.calls(FaultInjectingStore.Operation.ACQUIRE)).isGreaterThanOrEqualTo(9);
    }

    @Test
    @DisplayName("a record held by another member is retried later, never skipped, and its partition keeps its order")
    void inProgressElsewhereWaits() throws Exception {
        String topic = broker.createTopic("in-progress", 1);
        String group = KafkaTestBroker.group("in-progress");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(message(topic, 0, "w-" + i, "payload-" + i));
        }
        broker.send(records);
        AtomicInteger conflicts = new AtomicInteger();
        Idempotency idempotency = Idempotency.builder(store).listener(event -> {
            if (event.type() == IdempotencyEvent.Type.IN_PROGRESS) {
                conflicts.incrementAndGet();
            }
        }).build();
        resources.add(idempotency);
        // another member is processing w-2
        Execution<Void> elsewhere = idempotency.operation(OPERATION).begin("w-2", RequestHashes.sha256("payload-2"));

        start(IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> effects.record(id(record))).build())
                .topics(topic).backoff(Duration.ofMillis(20), Duration.ofMillis(100))
                .maxInProgressDelay(Duration.ofMillis(100)).build());

        Await.until(WAIT, () -> conflicts.get() >= 3 && committed(group, topic).getOrDefault(
                new TopicPartition(topic, 0), 0L) == 2L, () -> conflicts + " conflicts, committed "
                + committed(group, topic));
        assertThat(effects.of("w-2")).isZero();
        assertThat(effects.of("w-3")).as("records after it wait too").isZero();

        elsewhere.release(); // the other member gave up
        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        for (int i = 0; i < 5; i++) {
            assertThat(effects.of("w-" + i)).as("w-" + i).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("a hand-written loop with isDuplicate/markProcessed has each message's effect once")
    void handWrittenLoopWithDeduplicator() throws Exception {
        String topic = broker.createTopic("hand-written", 2);
        String group = KafkaTestBroker.group("hand-written");
        broker.send(List.of(message(topic, 0, "h-a", "A"), message(topic, 1, "h-a", "A"), message(topic, 0, "h-b", "B"),
                message(topic, 1, "h-a", "A"), message(topic, 1, "h-c", "C")));
        Idempotency idempotency = engine(store);
        int seen = 0;
        try (MessageDeduplicator dedup = MessageDeduplicator.builder(idempotency, "hand-written").build();
                KafkaConsumer<String, String> consumer = broker.consumer(group,
                        Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2))) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (seen < 5 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                    seen++;
                    String messageId = id(record);
                    if (dedup.isDuplicate(messageId, RequestHashes.sha256(record.value()))) {
                        continue;
                    }
                    effects.record(messageId);
                    assertThat(dedup.markProcessed(messageId)).isTrue();
                }
                consumer.commitSync();
            }
            assertThat(dedup.claimsHeld()).isZero();
        }
        assertThat(seen).isEqualTo(5);
        assertThat(effects.of("h-a")).isEqualTo(1);
        assertThat(effects.of("h-b")).isEqualTo(1);
        assertThat(effects.of("h-c")).isEqualTo(1);
        assertThat(effects.total()).isEqualTo(3);
    }

    @Test
    @DisplayName("the guide's example processes each message once and closes")
    void readmeExample() throws Exception {
        String topic = broker.createTopic("orders", 2);
        String group = KafkaTestBroker.group("ship-orders");
        broker.send(List.of(message(topic, 0, "o-1", "order 1"), message(topic, 1, "o-1", "order 1"),
                message(topic, 1, "o-2", "order 2")));
        KafkaConsumer<String, String> consumer = broker.consumer(group);
        KafkaProducer<String, String> producer = broker.producer();
        resources.add(producer);
        Idempotency idempotency = engine(store);
        List<String> shipped = new CopyOnWriteArrayList<>();
        Shipping shipping = shipped::add;
        ExecutorService executor = threads;

        // tag::loop[]
        RecordHandler<String, String> shipOrder = record -> shipping.ship(record.value());
        IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                .builder(idempotency, "ship-orders", shipOrder)
                .messageKey(MessageKeyStrategy.header("message-id"))
                .build();
        IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop
                .builder(consumer, handler) // a KafkaConsumer with enable.auto.commit=false
                .topics(topic)
                .deadLetter(producer) // optional: failing records go to <topic>.DLT instead of stopping their partition
                .build();
        executor.submit(loop); // runs until loop.close()
        // end::loop[]
        resources.add(loop);

        broker.awaitFullyCommitted(group, topic, 2, WAIT);
        loop.close();
        assertThat(shipped).containsExactlyInAnyOrder("order 1", "order 2");
        assertThat(readme()).contains(snippet("loop"));
    }

    @Test
    @DisplayName("an interrupt in the handler releases the record's claim and shuts the loop down, flag kept")
    void interruptShutsDown() throws Exception {
        String topic = broker.createTopic("interrupt", 1);
        String group = KafkaTestBroker.group("interrupt");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            records.add(message(topic, 0, "i-" + i, "payload-" + i));
        }
        broker.send(records);
        KafkaProducer<String, String> producer = broker.producer();
        resources.add(producer);
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();

        Idempotency idempotency = engine(store);
        IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop.builder(broker.consumer(group),
                handler(idempotency, record -> {
                    if (id(record).equals("i-3")) {
                        throw new InterruptedException("interrupted in the handler");
                    }
                    effects.record(id(record));
                }).build()).topics(topic).deadLetter(producer).recordListener(events::add).build();
        resources.add(loop);
        CompletableFuture<Boolean> flagAfterRun = CompletableFuture.supplyAsync(() -> {
            loop.run();
            return Thread.interrupted();
        }, threads);

        assertThat(flagAfterRun.get(60, TimeUnit.SECONDS)).as("the interrupt is kept for the thread's owner").isTrue();
        assertThat(loop.awaitTermination(Duration.ZERO)).isTrue();
        assertThat(committed(group, topic)).isEqualTo(Map.of(new TopicPartition(topic, 0), 3L));
        for (int i = 0; i < 6; i++) {
            assertThat(effects.of("i-" + i)).as("i-" + i).isEqualTo(i < 3 ? 1 : 0);
        }
        assertThat(store.find(OPERATION + ":i-3")).as("the interrupted record's claim is released").isEmpty();
        assertThat(store.find(OPERATION + ":i-4")).as("claims of records not started are released").isEmpty();
        assertThat(events).extracting(RecordEvent::outcome).containsExactly(RecordEvent.Outcome.PROCESSED,
                RecordEvent.Outcome.PROCESSED, RecordEvent.Outcome.PROCESSED, RecordEvent.Outcome.INTERRUPTED);
        assertThat(events.get(3).offset()).isEqualTo(3);
        assertThat(events.get(3).error()).isInstanceOf(InterruptedException.class);
    }

    @Test
    @DisplayName("idempotency exceptions of the handler's own nested calls are handler failures: retried, then dead-lettered")
    void nestedIdempotencyExceptionsAreHandlerFailures() throws Exception {
        String topic = broker.createTopic("nested", 1);
        broker.admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic + ".DLT", 1, (short) 1)))
                .all().get(30, TimeUnit.SECONDS);
        String group = KafkaTestBroker.group("nested");
        broker.send(List.of(message(topic, 0, "n-0", "payload-0"), message(topic, 0, "n-1", "payload-1"),
                message(topic, 0, "n-2", "payload-2")));
        KafkaProducer<String, String> producer = broker.producer();
        resources.add(producer);
        Idempotency idempotency = engine(store);
        Execution<Void> heldElsewhere = idempotency.operation("payments").begin("p-1", null);
        resources.add(heldElsewhere);
        AtomicInteger attempts = new AtomicInteger();

        start(IdempotentConsumerLoop.builder(broker.consumer(group), handler(idempotency, record -> {
            if (id(record).equals("n-1")) {
                attempts.incrementAndGet();
                idempotency.operation("payments").run("p-1", null, () -> { }); // in progress: a nested failure
            }
            effects.record(id(record));
        }).build()).topics(topic).maxAttempts(2).backoff(Duration.ofMillis(20), Duration.ofMillis(50))
                .maxInProgressDelay(Duration.ofMillis(50)).deadLetter(producer).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(attempts.get()).isEqualTo(2);
        assertThat(effects.of("n-0")).isOne();
        assertThat(effects.of("n-1")).isZero();
        assertThat(effects.of("n-2")).isOne();
        List<ConsumerRecord<String, String>> dead = broker.readAll(topic + ".DLT", 1, 1, WAIT);
        assertThat(dead).hasSize(1);
        assertThat(header(dead.get(0), DeadLetterHeaders.REASON)).isEqualTo("handler-failed");
        assertThat(header(dead.get(0), DeadLetterHeaders.ATTEMPTS)).isEqualTo("2");
        assertThat(header(dead.get(0), DeadLetterHeaders.EXCEPTION_CLASS))
                .isEqualTo(IdempotencyInProgressException.class.getName());
    }

    @Test
    @DisplayName("claims that run out before their record is reached never run the handler: no effect twice")
    void lostBatchClaimsAreNeverRun() throws Exception {
        String topic = broker.createTopic("lost-claims", 1);
        int count = 400;
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(message(topic, 0, "c-" + i, "payload-" + i));
        }
        broker.send(records);
        AtomicInteger leasesLost = new AtomicInteger();
        // two consumers (of two groups, so both see every record) share the operation: each message once in all
        List<String> groups = List.of(KafkaTestBroker.group("lost-claims-a"), KafkaTestBroker.group("lost-claims-b"));
        for (String group : groups) {
            FaultInjectingStore noRenewals = FaultInjectingStore.wrap(store)
                    .failAlways(FaultInjectingStore.Operation.EXTEND);
            Idempotency idempotency = Idempotency.builder(noRenewals).lease(Duration.ofSeconds(2)).listener(event -> {
                if (event.type() == IdempotencyEvent.Type.LEASE_LOST) {
                    leasesLost.incrementAndGet();
                }
            }).build();
            resources.add(idempotency);
            start(IdempotentConsumerLoop.builder(broker.consumer(group,
                    Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500)), handler(idempotency, record -> {
                        effects.record(id(record));
                        Thread.sleep(10); // a poll of 400 takes twice the lease
                    }).build()).topics(topic).backoff(Duration.ofMillis(20), Duration.ofMillis(200))
                    .maxInProgressDelay(Duration.ofMillis(100)).build());
        }

        Await.until(WAIT, () -> effects.distinct() == count, () -> effects.distinct() + " of " + count + " effects");
        AssertionError notCommitted = null;
        try {
            for (String group : groups) {
                broker.awaitFullyCommitted(group, topic, 1, WAIT);
            }
        } catch (AssertionError e) {
            notCommitted = e;
        }
        assertThat(effects.repeated()).as("messages whose effect happened twice (%d leases lost)", leasesLost.get())
                .isEmpty();
        assertThat(notCommitted).as("both consumers committed every record").isNull();
        assertThat(effects.total()).isEqualTo(count);
    }

    @Test
    @DisplayName("the dead-letter sends of one poll are waited for together: linger.ms is paid once, not per record")
    void deadLetterSendsAreBatched() throws Exception {
        String topic = broker.createTopic("dlt-batch", 1);
        String group = KafkaTestBroker.group("dlt-batch");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            records.add(message(topic, 0, "x-" + i, "payload-" + i));
        }
        broker.send(records);
        KafkaProducer<String, String> lingering = broker.producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 1_000));
        resources.add(lingering);
        List<Long> handlerCalls = new CopyOnWriteArrayList<>();
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();

        Idempotency idempotency = engine(store);
        start(IdempotentConsumerLoop.builder(broker.consumer(group), handler(idempotency, record -> {
            handlerCalls.add(System.nanoTime());
            throw new IllegalArgumentException("poison");
        }).build()).topics(topic).retryable(error -> false).deadLetter(lingering).recordListener(events::add)
                .build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(handlerCalls).hasSize(8);
        long spreadMillis = TimeUnit.NANOSECONDS.toMillis(handlerCalls.get(7) - handlerCalls.get(0));
        assertThat(spreadMillis).as("the eight records were handled within %d ms; one send at a time takes 8 x 1 s",
                spreadMillis).isLessThan(4_000);
        assertThat(events).extracting(RecordEvent::outcome).containsOnly(RecordEvent.Outcome.DEAD_LETTERED)
                .hasSize(8);
        assertThat(broker.readAll(topic + ".DLT", 1, 8, WAIT)).hasSize(8);
    }

    @Test
    @DisplayName("a dead-letter send that fails leaves its record uncommitted, to be tried again")
    void failedDeadLetterSendIsRetried() throws Exception {
        String topic = broker.createTopic("dlt-fails", 1);
        String group = KafkaTestBroker.group("dlt-fails");
        broker.send(List.of(message(topic, 0, "y-0", "payload-0"), message(topic, 0, "y-1", "payload-1"),
                message(topic, 0, "y-2", "payload-2")));
        KafkaProducer<String, String> producer = broker.producer();
        resources.add(producer);
        AtomicInteger topicCalls = new AtomicInteger();
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();

        Idempotency idempotency = engine(store);
        start(IdempotentConsumerLoop.builder(broker.consumer(group), handler(idempotency, record -> {
            if (id(record).equals("y-1")) {
                throw new IllegalArgumentException("poison");
            }
            effects.record(id(record));
        }).build()).topics(topic).retryable(error -> false).backoff(Duration.ofMillis(20), Duration.ofMillis(100))
                .deadLetter(producer, record -> {
                    if (topicCalls.incrementAndGet() == 1) {
                        throw new IllegalStateException("no dead-letter topic yet");
                    }
                    return record.topic() + ".DLT";
                }).recordListener(events::add).build());

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(broker.readAll(topic + ".DLT", 1, 1, WAIT)).extracting(IdempotentConsumerLoopKafkaTest::id)
                .containsExactly("y-1");
        assertThat(effects.of("y-0")).isOne();
        assertThat(effects.of("y-2")).as("processed once, a duplicate when the partition was rewound").isOne();
        List<RecordEvent.Outcome> forY1 = new ArrayList<>();
        for (RecordEvent<String, String> event : events) {
            if (event.offset() == 1) {
                forY1.add(event.outcome());
            }
        }
        assertThat(forY1).containsExactly(RecordEvent.Outcome.RETRY_SCHEDULED, RecordEvent.Outcome.DEAD_LETTERED);
    }

    @Test
    @DisplayName("the record listener gets each record's outcome with its topic, partition and offset; what it"
            + " throws, an Error included, changes nothing")
    void recordListener() throws Exception {
        String topic = broker.createTopic("listener", 2);
        String group = KafkaTestBroker.group("listener");
        broker.send(List.of(message(topic, 1, "r-0", "payload-0"), message(topic, 1, "r-0", "payload-0"),
                message(topic, 1, "r-1", "payload-1")));
        AtomicInteger failures = new AtomicInteger();
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();

        Idempotency idempotency = engine(store);
        start(IdempotentConsumerLoop.builder(broker.consumer(group), handler(idempotency, record -> {
            if (id(record).equals("r-1") && failures.incrementAndGet() == 1) {
                throw new IllegalStateException("once");
            }
        }).build()).topics(topic).backoff(Duration.ofMillis(20), Duration.ofMillis(50)).recordListener(event -> {
            events.add(event);
            if (events.size() % 2 == 0) {
                throw new AssertionError("a listener that breaks with an Error changes nothing");
            }
            throw new IllegalStateException("a failing listener changes nothing");
        }).build());

        broker.awaitFullyCommitted(group, topic, 2, WAIT);
        List<String> seen = new ArrayList<>();
        for (RecordEvent<String, String> event : events) {
            seen.add(event.partition() + "@" + event.offset() + " " + event.outcome() + " " + event.attempts());
        }
        assertThat(seen).containsExactly(topic + "-1@0 PROCESSED 1", topic + "-1@1 DUPLICATE 0",
                topic + "-1@2 RETRY_SCHEDULED 1", topic + "-1@2 PROCESSED 2");
    }

    /** What the guide's example calls. */
    interface Shipping {
        void ship(String order);
    }

    static String readme() throws IOException {
        return Files.readString(Path.of("..", "docs", "kafka.md"));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    static String snippet(String tag) throws IOException {
        String source = Files.readString(Path.of(
                "src/test/java/org/idempotency/kafka/IdempotentConsumerLoopKafkaTest.java"));
        String start = "// tag::" + tag + "[]\n";
        String region = source.substring(source.indexOf(start) + start.length(),
                source.indexOf("// end::" + tag + "[]"));
        String[] lines = region.split("\n");
        int indent = lines[0].length() - lines[0].stripLeading().length();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
        }
        return out.toString().stripTrailing();
    }

    private static Map<TopicPartition, Long> committed(String group, String topic) {
        try {
            return broker.committed(group, topic);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
