package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.idempotency.kafka.IdempotentConsumerLoopKafkaTest.message;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The module on the oldest kafka-clients it supports (3.9.1, what Spring Boot 3.5 manages), against the test
 * broker: the scenario runs in a JVM of its own whose class path has that kafka-clients jar (fetched by the
 * build into {@code target}) instead of the build's, and the module's and its dependencies' classes.
 */
class OldestKafkaClientsTest {

    static final String JAR_PROPERTY = "idempotency.kafka.oldestClientsJar";

    private static KafkaTestBroker broker;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaTestBroker.shared();
    }

    @Test
    @DisplayName("on kafka-clients 3.9.1 the loop consumes, dead-letters, commits and closes")
    void loopOnOldestClients() throws Exception {
        String oldest = System.getProperty(JAR_PROPERTY);
        assertThat(oldest).as("the build sets " + JAR_PROPERTY).isNotBlank();
        assertThat(Path.of(oldest)).exists();
        String topic = broker.createTopic("oldest-clients", 2);
        broker.admin().createTopics(List.of(new NewTopic(topic + ".DLT", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        String group = KafkaTestBroker.group("oldest-clients");
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            records.add(message(topic, i % 2, "o-" + i, "payload-" + i));
        }
        records.add(message(topic, 1, "o-4", "payload-4")); // a duplicate
        records.add(message(topic, 0, "poison", "poison"));
        broker.send(records);

        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                classPath(oldest), OldestClientsScenario.class.getName(), broker.bootstrapServers(), topic, group,
                Integer.toString(records.size()));
        Path output = Files.createTempFile("oldest-clients", ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
                    .start();
            boolean ended = process.waitFor(150, TimeUnit.SECONDS);
            if (!ended) {
                process.destroyForcibly();
            }
            String log = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(ended).as("the scenario ended; its output:%n%s", log).isTrue();
            assertThat(process.exitValue()).as("the scenario's exit code; its output:%n%s", log).isZero();
            assertThat(log).contains("kafka-clients 3.9.1").contains("closed in");
            for (int i = 0; i < 20; i++) {
                assertThat(log).as("o-%d once", i).contains("effect o-" + i + " 1\n");
            }
            assertThat(log).contains(topic + "-0@10 DEAD_LETTERED").contains("DUPLICATE");
        } finally {
            Files.deleteIfExists(output);
        }
        assertThat(broker.committed(group, topic)).isEqualTo(Map.of(new TopicPartition(topic, 0), 11L,
                new TopicPartition(topic, 1), 11L));
        assertThat(broker.readAll(topic + ".DLT", 1, 1, java.time.Duration.ofSeconds(30)))
                .extracting(IdempotentConsumerLoopKafkaTest::id).containsExactly("poison");
    }

    /**
     * This JVM's class path without its kafka-clients, the broker's jars and the test libraries: the module's
     * classes and their dependencies, with the oldest kafka-clients in front.
     */
    private static String classPath(String oldestClients) {
        List<String> entries = new ArrayList<>();
        entries.add(oldestClients);
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            File file = new File(entry);
            String name = file.getName();
            if (file.isDirectory() || name.startsWith("idempotency-") || name.startsWith("slf4j-")
                    || name.startsWith("jackson-") || name.startsWith("jspecify-") || name.startsWith("zstd-jni")
                    || name.startsWith("lz4-java") || name.startsWith("snappy-java")) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }
}
