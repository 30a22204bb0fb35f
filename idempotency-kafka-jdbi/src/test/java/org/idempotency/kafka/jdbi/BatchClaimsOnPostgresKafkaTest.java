package org.idempotency.kafka.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.core.Idempotency;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.kafka.MessageKeyStrategy;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Two members of a group on the real PostgreSQL store, each polling a large batch of records whose messages the
 * other member also has (every message is in both partitions), with a 1 s lease: going through a poll takes
 * several leases, so claims made for a whole poll up front would run out before their record is reached, and
 * the other member would take them over. No message may have its effect twice.
 *
 * <p>The size is set by system properties, for measuring: {@code kafka.jdbi.messages} and
 * {@code kafka.jdbi.perPoll} (default 500 each), {@code kafka.jdbi.leaseMillis} (1,000) and
 * {@code kafka.jdbi.workMicros} (the handler's own time, default 0).
 */
class BatchClaimsOnPostgresKafkaTest {

    private static final String HEADER = "message-id";
    private static final Duration WAIT = Duration.ofSeconds(180);

    private static KafkaTestBroker broker;

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();

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

    @Test
    @DisplayName("two members, large polls, a 1 s lease on PostgreSQL: every message's effect once")
    void twoMembersLargePollsShortLease() throws Exception {
        int messages = Integer.getInteger("kafka.jdbi.messages", 500);
        int perPoll = Integer.getInteger("kafka.jdbi.perPoll", 500);
        Duration lease = Duration.ofMillis(Long.getLong("kafka.jdbi.leaseMillis", 1_000));
        long workMicros = Long.getLong("kafka.jdbi.workMicros", 0);
        PostgresDatabase database = PostgresDatabase.get();
        String table = PostgresDatabase.uniqueTableName("kafka_batch");
        resources.add(() -> database.dropTable(table));

        String topic = broker.createTopic("pg-batch", 2);
        String group = KafkaTestBroker.group("pg-batch");
        List<ProducerRecord<String, String>> records = new ArrayList<>(messages * 2);
        for (int partition = 0; partition < 2; partition++) {
            for (int i = 0; i < messages; i++) {
                ProducerRecord<String, String> record = new ProducerRecord<>(topic, partition, "m-" + i, "payload-" + i);
                record.headers().add(HEADER, ("m-" + i).getBytes(StandardCharsets.UTF_8));
                records.add(record);
            }
        }
        broker.send(records);

        AtomicInteger leasesLost = new AtomicInteger();
        AtomicInteger takeovers = new AtomicInteger();
        long start = System.nanoTime();
        for (int partition = 0; partition < 2; partition++) {
            HikariDataSource pool = database.pool(PostgresDatabase.uniqueApplicationName("kafka-batch"), 8);
            resources.add(pool);
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(Jdbi.create(pool)).table(table).build();
            if (partition == 0) {
                store.createSchema();
            }
            Idempotency idempotency = Idempotency.builder(store).lease(lease).listener(event -> {
                if (event.type() == IdempotencyEvent.Type.LEASE_LOST) {
                    leasesLost.incrementAndGet();
                } else if (event.type() == IdempotencyEvent.Type.TAKEOVER) {
                    takeovers.incrementAndGet();
                }
            }).build();
            resources.add(idempotency);
            IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "pg-batch", record -> {
                        Header id = record.headers().lastHeader(HEADER);
                        effects.computeIfAbsent(new String(id.value(), StandardCharsets.UTF_8),
                                key -> new AtomicInteger()).incrementAndGet();
                        if (workMicros > 0) {
                            TimeUnit.MICROSECONDS.sleep(workMicros);
                        }
                    })
                    .messageKey(MessageKeyStrategy.header(HEADER))
                    .build();
            KafkaConsumer<String, String> consumer = broker.consumer(group,
                    Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, perPoll));
            consumer.assign(List.of(new TopicPartition(topic, partition)));
            IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop.builder(consumer, handler)
                    .maxInProgressDelay(Duration.ofMillis(200))
                    .backoff(Duration.ofMillis(20), Duration.ofMillis(500))
                    .build();
            resources.add(loop);
            threads.submit(loop);
        }

        Await.until(WAIT, () -> effects.size() == messages, () -> effects.size() + " of " + messages + " effects");
        broker.awaitFullyCommitted(group, topic, 2, WAIT);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        Map<String, Integer> repeated = new TreeMap<>();
        effects.forEach((id, count) -> {
            if (count.get() > 1) {
                repeated.put(id, count.get());
            }
        });
        System.out.printf("two members on PostgreSQL: %d messages, %d records a poll, lease %s, work %d us: %d"
                + " processed twice or more, %d leases lost, %d takeovers, %d ms%n", messages, perPoll, lease,
                workMicros, repeated.size(), leasesLost.get(), takeovers.get(), millis);
        assertThat(repeated).as("messages whose effect happened more than once").isEmpty();
    }
}
