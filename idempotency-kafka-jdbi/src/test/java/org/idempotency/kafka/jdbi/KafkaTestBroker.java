package org.idempotency.kafka.jdbi;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;
import org.jspecify.annotations.Nullable;

/**
 * A real Kafka broker for tests: the one named by {@code IDEMPOTENCY_KAFKA_BOOTSTRAP} if set, otherwise one
 * KRaft node (broker and controller combined) started inside the test JVM with Kafka's own test kit. Topics
 * and groups are unique per test, so tests never see each other's records, even on a shared broker.
 */
final class KafkaTestBroker implements AutoCloseable {

    static final String ENV = "IDEMPOTENCY_KAFKA_BOOTSTRAP";

    private final @Nullable KafkaClusterTestKit cluster;
    private final String bootstrapServers;
    private final Admin admin;

    private KafkaTestBroker(@Nullable KafkaClusterTestKit cluster, String bootstrapServers) {
        this.cluster = cluster;
        this.bootstrapServers = bootstrapServers;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
    }

    private static @Nullable KafkaTestBroker shared;

    /**
     * The broker shared by every test class of this JVM, started on first use and stopped by
     * {@link StopSharedBroker} once every test has run: tests use topics and groups of their own, so they never
     * see each other's records.
     */
    static synchronized KafkaTestBroker shared() throws Exception {
        if (shared == null) {
            shared = start();
        }
        return shared;
    }

    /**
     * Stops the shared broker, if one was started. It must stop before the JVM begins to exit: Kafka's test
     * kit deletes the broker's log directories in a shutdown hook of its own, and a broker still running
     * when they vanish takes its log directory offline and halts the JVM with a non-zero exit code.
     */
    static synchronized void stopShared() {
        if (shared != null) {
            KafkaTestBroker broker = shared;
            shared = null;
            broker.close();
        }
    }

    static KafkaTestBroker start() throws Exception {
        String external = System.getenv(ENV);
        if (external != null && !external.isBlank()) {
            KafkaTestBroker broker = new KafkaTestBroker(null, external.trim());
            try {
                broker.admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                broker.close();
                throw new IllegalStateException(ENV + "=" + external + " names no reachable Kafka broker; unset it"
                        + " to start one inside the test JVM", e);
            }
            return broker;
        }
        KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                .build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("offsets.topic.num.partitions", "4")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("num.partitions", "1")
                .build();
        try {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
        } catch (Exception e) {
            cluster.close();
            throw new IllegalStateException("Could not start a Kafka broker inside the test JVM (or set " + ENV
                    + " to the bootstrap servers of a running one)", e);
        }
        return new KafkaTestBroker(cluster, cluster.bootstrapServers());
    }

    String bootstrapServers() {
        return bootstrapServers;
    }

    Admin admin() {
        return admin;
    }

    /** Creates a topic with a unique name starting with {@code prefix}, and waits until it is ready. */
    String createTopic(String prefix, int partitions) throws Exception {
        String topic = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                if (admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic)
                        .partitions().stream().allMatch(p -> p.leader() != null)) {
                    return topic;
                }
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topic " + topic + " has no leader after 30 s");
            }
            Thread.sleep(50);
        }
    }

    static String group(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    KafkaProducer<String, String> producer() {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        // a fresh topic's leader may refuse the first batches (NOT_LEADER) while later ones already land; an
        // idempotent producer then retries into OutOfOrderSequence for ever. One batch in flight keeps the order
        // and makes the retry of a refused batch safe without producer ids.
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        return new KafkaProducer<>(config);
    }

    /** A consumer as the loop expects it: manual commits, from the earliest offset. */
    KafkaConsumer<String, String> consumer(String group, Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, group + "-" + UUID.randomUUID().toString().substring(0, 4));
        config.putAll(overrides);
        return new KafkaConsumer<>(config);
    }

    KafkaConsumer<String, String> consumer(String group) {
        return consumer(group, Map.of());
    }

    /** Sends and waits for every record to be acknowledged. */
    void send(List<ProducerRecord<String, String>> records) throws Exception {
        try (KafkaProducer<String, String> producer = producer()) {
            List<Future<?>> acks = new ArrayList<>(records.size());
            for (ProducerRecord<String, String> record : records) {
                acks.add(producer.send(record));
            }
            for (Future<?> ack : acks) {
                ack.get(30, TimeUnit.SECONDS);
            }
        }
    }

    /** The group's committed offsets for the topic's partitions (partitions without a commit are absent). */
    Map<TopicPartition, Long> committed(String group, String topic) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        Map<TopicPartition, Long> out = new HashMap<>();
        offsets.forEach((partition, offset) -> {
            if (partition.topic().equals(topic) && offset != null) {
                out.put(partition, offset.offset());
            }
        });
        return out;
    }

    /** The end offset of each partition of the topic. */
    Map<TopicPartition, Long> endOffsets(String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> result = admin.listOffsets(request).all()
                .get(30, TimeUnit.SECONDS);
        Map<TopicPartition, Long> out = new HashMap<>();
        result.forEach((partition, info) -> out.put(partition, info.offset()));
        return out;
    }

    /** Waits until the group has committed every record of the topic. */
    void awaitFullyCommitted(String group, String topic, int partitions, Duration timeout) throws Exception {
        Map<TopicPartition, Long> end = endOffsets(topic, partitions);
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<TopicPartition, Long> committed = Map.of();
        while (System.nanoTime() < deadline) {
            committed = committed(group, topic);
            if (committed.equals(withoutEmpty(end))) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("group " + group + " committed " + committed + " of " + end + " within " + timeout);
    }

    private static Map<TopicPartition, Long> withoutEmpty(Map<TopicPartition, Long> end) {
        Map<TopicPartition, Long> out = new HashMap<>(end);
        out.values().removeIf(offset -> offset == 0);
        return out;
    }

    /** Records of a topic read from the beginning, without a group, until {@code count} arrived. */
    List<ConsumerRecord<String, String>> readAll(String topic, int partitions,
            int count, Duration timeout) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        Map<String, Object> overrides = new HashMap<>();
        overrides.put(ConsumerConfig.GROUP_ID_CONFIG, null);
        try (KafkaConsumer<String, String> reader = consumer("reader", overrides)) {
            List<TopicPartition> assigned = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                assigned.add(new TopicPartition(topic, p));
            }
            reader.assign(assigned);
            reader.seekToBeginning(assigned);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                reader.poll(Duration.ofMillis(100)).forEach(out::add);
            }
        }
        return out;
    }

    /** Partitions of a topic, for assertions. */
    static Set<TopicPartition> partitions(String topic, int count) {
        Set<TopicPartition> out = new HashSet<>();
        for (int p = 0; p < count; p++) {
            out.add(new TopicPartition(topic, p));
        }
        return out;
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(10));
        if (cluster != null) {
            try {
                cluster.close();
            } catch (Exception e) {
                throw new IllegalStateException("Could not stop the test broker", e);
            }
        }
    }
}
