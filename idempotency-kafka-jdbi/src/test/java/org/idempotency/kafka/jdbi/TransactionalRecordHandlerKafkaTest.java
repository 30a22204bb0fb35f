package org.idempotency.kafka.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Idempotency;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.kafka.MessageKeyStrategy;
import org.idempotency.kafka.RecordEvent;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The transactional record handler against a real broker and the real PostgreSQL store: each message's rows in
 * the application's table and the completion of its record commit together, so members that die or stall in
 * the middle of a transaction leave exactly one effect per message. The application's table has no unique
 * constraint on the message id on purpose: exactly once must come from the transaction and its fencing check.
 */
class TransactionalRecordHandlerKafkaTest {

    private static final String HEADER = "message-id";
    private static final String OPERATION = "tx-orders";
    private static final Duration WAIT = Duration.ofSeconds(120);

    private static KafkaTestBroker broker;
    private static PostgresDatabase database;
    private static String recordsTable;
    private static String effectsTable;

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @BeforeAll
    static void setUp() throws Exception {
        broker = KafkaTestBroker.shared();
        database = PostgresDatabase.get();
        recordsTable = PostgresDatabase.uniqueTableName("kafka_tx");
        effectsTable = PostgresDatabase.uniqueTableName("kafka_fx");
        database.admin().useHandle(h -> h.execute("CREATE TABLE \"" + effectsTable + "\" (id bigserial PRIMARY KEY,"
                + " message_id text NOT NULL, member text NOT NULL)"));
    }

    @AfterAll
    static void dropTables() {
        if (database != null) {
            database.dropTable(recordsTable);
            database.admin().useHandle(h -> h.execute("DROP TABLE IF EXISTS \"" + effectsTable + "\""));
        }
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

    /** One group member's process: its own pool (named, so it can be killed), store, engine. */
    private final class Member {
        final String name;
        final String applicationName;
        final JdbiIdempotencyStore store;
        final Idempotency idempotency;

        Member(String name, Duration lease) {
            this.name = name;
            this.applicationName = PostgresDatabase.uniqueApplicationName("kafka-tx-" + name);
            HikariDataSource pool = database.pool(applicationName, 4);
            resources.add(pool);
            this.store = JdbiIdempotencyStore.builder(Jdbi.create(pool)).table(recordsTable).build();
            store.createSchema();
            this.idempotency = Idempotency.builder(store).lease(lease).build();
            resources.add(idempotency);
        }

        IdempotentConsumerLoop<String, String> start(String group, String topic, TransactionalRecordHandler.Work<
                String, String> work, Map<String, Object> consumerConfig, List<RecordEvent<String, String>> events) {
            IdempotentRecordHandler<String, String> handler = TransactionalRecordHandler
                    .builder(idempotency, store, OPERATION, work)
                    .messageKey(MessageKeyStrategy.header(HEADER))
                    .build();
            IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop
                    .builder(broker.consumer(group, consumerConfig), handler)
                    .topics(topic)
                    .pollTimeout(Duration.ofMillis(100))
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(500))
                    .maxInProgressDelay(Duration.ofMillis(200))
                    .recordListener(events::add)
                    .build();
            resources.add(loop);
            threads.submit(loop);
            return loop;
        }

        /** The member's effect: one row for the message, in the transaction's handle. */
        void insert(ConsumerRecord<String, String> record, Handle handle) {
            handle.createUpdate("INSERT INTO \"" + effectsTable + "\" (message_id, member) VALUES (:id, :member)")
                    .bind("id", id(record))
                    .bind("member", name)
                    .execute();
        }

        /** Kills the member's database sessions, rolling back whatever transaction they were in. */
        void killSessions() {
            database.admin().useHandle(h -> h.createQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    + " WHERE application_name = :name").bind("name", applicationName).mapTo(Boolean.class).list());
        }
    }

    private static String id(ConsumerRecord<String, String> record) {
        return new String(record.headers().lastHeader(HEADER).value(), StandardCharsets.UTF_8);
    }

    private static ProducerRecord<String, String> message(String topic, int partition, String id) {
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, partition, id, "payload of " + id);
        record.headers().add(HEADER, id.getBytes(StandardCharsets.UTF_8));
        return record;
    }

    /** Committed rows per message id, for the ids starting with {@code prefix}. */
    private static Map<String, Integer> rows(String prefix) {
        Map<String, Integer> out = new HashMap<>();
        database.admin().useHandle(h -> h.createQuery("SELECT message_id, count(*) AS n FROM \"" + effectsTable
                + "\" WHERE message_id LIKE :prefix GROUP BY message_id").bind("prefix", prefix + "%")
                .map((rs, ctx) -> out.put(rs.getString("message_id"), rs.getInt("n"))).list());
        return out;
    }

    private static String writer(String messageId) {
        return database.admin().withHandle(h -> h.createQuery("SELECT member FROM \"" + effectsTable
                + "\" WHERE message_id = :id").bind("id", messageId).mapTo(String.class).one());
    }

    private static Map<String, Integer> oncePerMessage(String prefix, int count) {
        Map<String, Integer> expected = new HashMap<>();
        for (int i = 0; i < count; i++) {
            expected.put(prefix + i, 1);
        }
        return expected;
    }

    @Test
    @DisplayName("each message's row commits with its completion; duplicates and re-sent messages write nothing")
    void rowAndCompletionCommitTogether() throws Exception {
        String topic = broker.createTopic("tx-basic", 2);
        String group = KafkaTestBroker.group("tx-basic");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            records.add(message(topic, i % 2, "b-" + i));
            if (i % 5 == 0) {
                records.add(message(topic, (i + 1) % 2, "b-" + i)); // the same message again, in the other partition
            }
        }
        broker.send(records);
        Member member = new Member("only", Duration.ofSeconds(30));
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();

        member.start(group, topic, member::insert, Map.of(), events);

        broker.awaitFullyCommitted(group, topic, 2, WAIT);
        assertThat(rows("b-")).isEqualTo(oncePerMessage("b-", 30));
        assertThat(member.store.find(OPERATION + ":b-7").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(events).filteredOn(event -> event.outcome() == RecordEvent.Outcome.DUPLICATE).hasSize(6);
    }

    @Test
    @DisplayName("a failing handler's rows roll back with it, and the retry writes them once")
    void failureRollsBack() throws Exception {
        String topic = broker.createTopic("tx-fail", 1);
        String group = KafkaTestBroker.group("tx-fail");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(message(topic, 0, "f-" + i));
        }
        broker.send(records);
        Member member = new Member("only", Duration.ofSeconds(30));
        AtomicInteger failures = new AtomicInteger();
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();

        member.start(group, topic, (record, handle) -> {
            member.insert(record, handle);
            if (id(record).equals("f-2") && failures.incrementAndGet() <= 2) {
                throw new IllegalStateException("failing after the insert, attempt " + failures.get());
            }
        }, Map.of(), events);

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        assertThat(failures.get()).isEqualTo(3);
        assertThat(rows("f-")).isEqualTo(oncePerMessage("f-", 5));
        assertThat(events).filteredOn(event -> event.outcome() == RecordEvent.Outcome.RETRY_SCHEDULED).hasSize(2);
    }

    @Test
    @DisplayName("a member killed mid-transaction leaves nothing; the member taking over writes each message once")
    void memberKilledMidTransaction() throws Exception {
        String topic = broker.createTopic("tx-killed", 2);
        String group = KafkaTestBroker.group("tx-killed");
        int count = 120;
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(message(topic, i % 2, "k-" + i));
        }
        broker.send(records);
        Member dying = new Member("dying", Duration.ofSeconds(2));
        CountDownLatch died = new CountDownLatch(1);
        CountDownLatch buried = new CountDownLatch(1);
        resources.add(buried::countDown);
        AtomicInteger started = new AtomicInteger();
        String[] killedAt = new String[1];
        dying.start(group, topic, (record, handle) -> {
            dying.insert(record, handle);
            if (started.incrementAndGet() == 50) { // in the middle of a poll, inside the transaction
                killedAt[0] = id(record);
                dying.idempotency.close(); // a dead process renews no lease
                dying.killSessions(); // and its database sessions end: the open transaction rolls back
                died.countDown();
                buried.await(WAIT.toSeconds(), TimeUnit.SECONDS); // and it does nothing more
                throw new IllegalStateException("this member was dead");
            }
        }, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 40, ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 3_000),
                new CopyOnWriteArrayList<>());
        assertThat(died.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(rows("k-")).as("the dying member's transaction of %s rolled back", killedAt[0])
                .doesNotContainKey(killedAt[0]);

        Member survivor = new Member("survivor", Duration.ofSeconds(30));
        List<RecordEvent<String, String>> events = new CopyOnWriteArrayList<>();
        survivor.start(group, topic, survivor::insert, Map.of(), events);

        Await.until(WAIT, () -> rows("k-").size() == count, () -> rows("k-").size() + " of " + count + " messages");
        broker.awaitFullyCommitted(group, topic, 2, WAIT);
        assertThat(rows("k-")).isEqualTo(oncePerMessage("k-", count));
        assertThat(writer(killedAt[0])).isEqualTo("survivor");
        assertThat(events).as("finished but uncommitted records recognised as duplicates")
                .anyMatch(event -> event.outcome() == RecordEvent.Outcome.DUPLICATE);
    }

    @Test
    @DisplayName("a member stalled mid-transaction whose claim was taken over cannot commit: its rows roll back")
    void stalledMemberCannotCommit() throws Exception {
        String topic = broker.createTopic("tx-stalled", 1);
        int count = 10;
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(message(topic, 0, "s-" + i));
        }
        broker.send(records);
        // two groups sharing the operation, so both see every message: each message once in all
        Member stalling = new Member("stalling", Duration.ofSeconds(2));
        CountDownLatch stalled = new CountDownLatch(1);
        CountDownLatch wakeUp = new CountDownLatch(1);
        resources.add(wakeUp::countDown);
        List<RecordEvent<String, String>> stallingEvents = new CopyOnWriteArrayList<>();
        String stallingGroup = KafkaTestBroker.group("tx-stalled-a");
        stalling.start(stallingGroup, topic, (record, handle) -> {
            stalling.insert(record, handle);
            if (id(record).equals("s-3") && stalled.getCount() > 0) {
                stalling.idempotency.close(); // a stalled process (a long pause) renews no lease
                stalled.countDown();
                assertThat(wakeUp.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            }
        }, Map.of(), stallingEvents);
        assertThat(stalled.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        Member other = new Member("other", Duration.ofSeconds(30));
        String otherGroup = KafkaTestBroker.group("tx-stalled-b");
        other.start(otherGroup, topic, other::insert, Map.of(), new CopyOnWriteArrayList<>());
        Await.until(WAIT, () -> rows("s-").size() == count, () -> rows("s-") + " rows");
        assertThat(writer("s-3")).as("taken over after the stalled member's lease").isEqualTo("other");

        wakeUp.countDown(); // the stalled member carries on and tries to commit s-3
        broker.awaitFullyCommitted(stallingGroup, topic, 1, WAIT);
        broker.awaitFullyCommitted(otherGroup, topic, 1, WAIT);
        assertThat(rows("s-")).isEqualTo(oncePerMessage("s-", count));
        assertThat(writer("s-3")).isEqualTo("other");
        List<RecordEvent<String, String>> s3 = new ArrayList<>();
        for (RecordEvent<String, String> event : stallingEvents) {
            if (id(event.record()).equals("s-3")) {
                s3.add(event);
            }
        }
        assertThat(s3).extracting(RecordEvent::outcome).startsWith(RecordEvent.Outcome.WAITING)
                .endsWith(RecordEvent.Outcome.DUPLICATE);
        assertThat(s3.get(0).error()).isInstanceOf(IdempotencyLeaseLostException.class);
    }

    @Test
    @DisplayName("the guide's example ships each order once, in the transaction that completes its message")
    void guideExample() throws Exception {
        String topic = broker.createTopic("tx-guide", 1);
        String group = KafkaTestBroker.group("tx-guide");
        broker.send(List.of(message(topic, 0, "g-1"), message(topic, 0, "g-2"), message(topic, 0, "g-1")));
        String shipments = PostgresDatabase.uniqueTableName("shipments");
        database.admin().useHandle(h -> h.execute("CREATE TABLE \"" + shipments + "\" (order_id text NOT NULL)"));
        resources.add(() -> database.admin().useHandle(h -> h.execute("DROP TABLE \"" + shipments + "\"")));
        Member member = new Member("guide", Duration.ofSeconds(30));
        Idempotency idempotency = member.idempotency;
        JdbiIdempotencyStore store = member.store;
        String insertShipment = "INSERT INTO \"" + shipments + "\" (order_id) VALUES (:order)";
        KafkaConsumer<String, String> consumer = broker.consumer(group);

        // tag::handler[]
        IdempotentRecordHandler<String, String> handler = TransactionalRecordHandler
                .builder(idempotency, store, "ship-orders", (ConsumerRecord<String, String> record, Handle handle) ->
                        handle.createUpdate(insertShipment).bind("order", record.value()).execute())
                .messageKey(MessageKeyStrategy.header("message-id"))
                .build();
        IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop.builder(consumer, handler)
                .topics(topic)
                .build();
        // end::handler[]
        resources.add(loop);
        threads.submit(loop);

        broker.awaitFullyCommitted(group, topic, 1, WAIT);
        List<String> shipped = database.admin().withHandle(h -> h.createQuery("SELECT order_id FROM \"" + shipments
                + "\" ORDER BY order_id").mapTo(String.class).list());
        assertThat(shipped).containsExactly("payload of g-1", "payload of g-2");
        assertThat(Files.readString(Path.of("..", "docs", "kafka-jdbi.md"))).contains(snippet("handler"));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    private static String snippet(String tag) throws IOException {
        String source = Files.readString(Path.of(
                "src/test/java/org/idempotency/kafka/jdbi/TransactionalRecordHandlerKafkaTest.java"));
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

    @Test
    @DisplayName("the builder refuses a store other than the engine's")
    void otherStoreRefused() {
        Member member = new Member("only", Duration.ofSeconds(30));
        JdbiIdempotencyStore elsewhere = JdbiIdempotencyStore.builder(Jdbi.create(database.url()))
                .table(recordsTable + "_x").build();
        assertThatThrownBy(() -> TransactionalRecordHandler.builder(member.idempotency, elsewhere, OPERATION,
                (record, handle) -> { })).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(recordsTable + "_x");
    }
}
