package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.idempotency.kafka.IdempotentConsumerLoopKafkaTest.id;
import static org.idempotency.kafka.IdempotentConsumerLoopKafkaTest.message;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Consumer groups whose membership changes while records flow: a member that dies in the middle of a batch,
 * and members joining and leaving under load. The store is the in-memory one, shared by the members as a
 * remote store would be; the effects are counted per message id in a side table.
 */
class ConsumerGroupKafkaTest {

    private static final Duration WAIT = Duration.ofSeconds(120);

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

    private IdempotentConsumerLoop<String, String> member(Idempotency idempotency, String group, String topic,
            RecordHandler<String, String> work, Map<String, Object> consumerConfig) {
        return member(idempotency, group, topic, work, consumerConfig, true);
    }

    private IdempotentConsumerLoop<String, String> member(Idempotency idempotency, String group, String topic,
            RecordHandler<String, String> work, Map<String, Object> consumerConfig, boolean batchCompletions) {
        IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                .builder(idempotency, "group-test", work)
                .messageKey(MessageKeyStrategy.header(IdempotentConsumerLoopKafkaTest.HEADER))
                .build();
        IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop
                .builder(broker.consumer(group, consumerConfig), handler)
                .topics(topic)
                .pollTimeout(Duration.ofMillis(100))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .maxInProgressDelay(Duration.ofMillis(200))
                .batchCompletions(batchCompletions)
                .build();
        resources.add(loop);
        threads.submit(loop);
        return loop;
    }

    @Test
    @DisplayName("a member completing in batches dies mid-window; the member taking over loses no effect and repeats"
            + " only those of the records processed since the last completion batch")
    void memberWithBatchCompletionsDiesMidWindow() throws Exception {
        String topic = broker.createTopic("dies-batched", 1);
        String group = KafkaTestBroker.group("dies-batched");
        int count = 120;
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(message(topic, 0, "b-" + i, "payload-" + i));
        }
        broker.send(records);

        Idempotency dyingEngine = Idempotency.builder(store).lease(Duration.ofSeconds(2)).build();
        resources.add(dyingEngine);
        CountDownLatch died = new CountDownLatch(1);
        CountDownLatch wakeTheDead = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        IdempotentConsumerLoop<String, String> dying = member(dyingEngine, group, topic, record -> {
            if (started.incrementAndGet() == 70) { // in the middle of the second poll of 40
                dyingEngine.close();
                died.countDown();
                wakeTheDead.await(WAIT.toSeconds(), TimeUnit.SECONDS);
                throw new IllegalStateException("this member was dead");
            }
            effects.record(id(record));
        }, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 40, ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 3000));
        assertThat(died.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        Idempotency survivingEngine = Idempotency.builder(store).build();
        resources.add(survivingEngine);
        member(survivingEngine, group, topic, record -> effects.record(id(record)), Map.of());

        Await.until(WAIT, () -> effects.distinct() == count, () -> effects.distinct() + " of " + count + " effects");
        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(effects.distinct()).isEqualTo(count);
        assertThat(effects.repeated().size()).as("effects repeated: at most the records of the dead member's"
                + " window not completed yet").isLessThanOrEqualTo(40);
        assertThat(effects.repeated().keySet()).as("only records of the second poll")
                .allSatisfy(id -> assertThat(Integer.parseInt(id.substring(2))).isBetween(40, 79));

        dying.wakeup();
        wakeTheDead.countDown();
        assertThat(dying.awaitTermination(Duration.ofSeconds(60))).isTrue();
    }

    @Test
    @DisplayName("a member completing each record dies mid-batch without committing; the member taking over repeats"
            + " no effect, loses none")
    void memberDiesMidBatch() throws Exception {
        String topic = broker.createTopic("dies", 2);
        String group = KafkaTestBroker.group("dies");
        int count = 200;
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(message(topic, i % 2, "c-" + i, "payload-" + i));
        }
        broker.send(records);

        // the member that dies: a short lease, and a short poll interval so the group notices it hangs
        Idempotency dyingEngine = Idempotency.builder(store).lease(Duration.ofSeconds(2)).build();
        resources.add(dyingEngine);
        CountDownLatch died = new CountDownLatch(1);
        CountDownLatch wakeTheDead = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        IdempotentConsumerLoop<String, String> dying = member(dyingEngine, group, topic, record -> {
            if (started.incrementAndGet() == 70) { // in the middle of the second batch of 40
                dyingEngine.close(); // a dead process renews no lease
                died.countDown();
                wakeTheDead.await(WAIT.toSeconds(), TimeUnit.SECONDS); // and does nothing more
                throw new IllegalStateException("this member was dead");
            }
            effects.record(id(record));
        }, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 40, ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 3000),
                false);
        assertThat(died.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        int effectsBeforeDeath = effects.total();
        assertThat(broker.committed(group, topic).values().stream().mapToLong(Long::longValue).sum())
                .as("the dead member's last batch is not committed").isLessThan(effectsBeforeDeath);

        AtomicInteger replays = new AtomicInteger();
        AtomicInteger takeovers = new AtomicInteger();
        Idempotency survivingEngine = Idempotency.builder(store).listener(event -> {
            if (event.type() == IdempotencyEvent.Type.REPLAYED) {
                replays.incrementAndGet();
            } else if (event.type() == IdempotencyEvent.Type.TAKEOVER) {
                takeovers.incrementAndGet();
            }
        }).build();
        resources.add(survivingEngine);
        member(survivingEngine, group, topic, record -> effects.record(id(record)), Map.of());

        Await.until(WAIT, () -> effects.distinct() == count, () -> effects.distinct() + " of " + count + " effects");
        broker.awaitFullyCommitted(group, topic, 2, WAIT);
        assertThat(effects.repeated()).as("effects that happened twice").isEmpty();
        assertThat(effects.total()).isEqualTo(count);
        assertThat(replays.get()).as("finished but uncommitted records recognised as duplicates").isPositive();
        assertThat(takeovers.get()).as("records claimed by the dead member taken over").isPositive();

        dying.wakeup();
        wakeTheDead.countDown();
        assertThat(dying.awaitTermination(Duration.ofSeconds(60))).isTrue();
    }

    @Test
    @DisplayName("20,000 messages (and 2,000 re-sent) while members join and leave: every effect exactly once")
    void rebalancesUnderLoad() throws Exception {
        int partitions = 6;
        String topic = broker.createTopic("load", partitions);
        String group = KafkaTestBroker.group("load");
        int count = 20_000;
        List<ProducerRecord<String, String>> records = new ArrayList<>(count + count / 10);
        for (int i = 0; i < count; i++) {
            records.add(message(topic, i % partitions, "l-" + i, "payload-" + i));
            if (i % 10 == 0) { // the same message again, in another partition
                records.add(message(topic, (i + 3) % partitions, "l-" + i, "payload-" + i));
            }
        }
        broker.send(records);
        Idempotency idempotency = Idempotency.builder(store).build();
        resources.add(idempotency);
        RecordHandler<String, String> work = record -> effects.record(id(record));
        Map<String, Object> config = Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);

        IdempotentConsumerLoop<String, String> first = member(idempotency, group, topic, work, config);
        Await.until(WAIT, () -> effects.total() >= 3_000, () -> effects.total() + " effects");
        IdempotentConsumerLoop<String, String> second = member(idempotency, group, topic, work, config);
        Await.until(WAIT, () -> effects.total() >= 8_000, () -> effects.total() + " effects");
        first.close(); // leaves under load: its partitions move to the second member
        member(idempotency, group, topic, work, config);
        Await.until(WAIT, () -> effects.total() >= 13_000, () -> effects.total() + " effects");
        second.close();
        member(idempotency, group, topic, work, config);

        Await.until(WAIT, () -> effects.distinct() == count, () -> effects.distinct() + " of " + count + " effects");
        broker.awaitFullyCommitted(group, topic, partitions, WAIT);
        assertThat(effects.repeated()).as("effects that happened twice").isEmpty();
        assertThat(effects.total()).isEqualTo(count);
    }
}
