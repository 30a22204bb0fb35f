package org.idempotency.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.AppInfoParser;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;

/**
 * Runs the consumer loop in a JVM of its own whose class path holds the oldest kafka-clients the module
 * supports instead of the build's: consumes a topic (duplicates, a poison record for the dead-letter topic),
 * then closes the loop. Prints what happened for {@link OldestKafkaClientsTest} to check; exits with 0 only if
 * every record was finished. Arguments: bootstrap servers, topic, group, number of records.
 */
public final class OldestClientsScenario {

    private OldestClientsScenario() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        int records = Integer.parseInt(args[3]);
        System.out.println("kafka-clients " + AppInfoParser.getVersion());
        Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
        AtomicInteger finished = new AtomicInteger();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try (Idempotency idempotency = Idempotency.builder(InMemoryIdempotencyStore.create()).build();
                KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                        new StringSerializer(), new StringSerializer())) {
            IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                    .builder(idempotency, "oldest-clients", record -> {
                        String id = new String(record.headers().lastHeader("message-id").value(),
                                StandardCharsets.UTF_8);
                        if (id.equals("poison")) {
                            throw new IllegalArgumentException("poison");
                        }
                        effects.computeIfAbsent(id, key -> new AtomicInteger()).incrementAndGet();
                    })
                    .messageKey(MessageKeyStrategy.header("message-id"))
                    .build();
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.GROUP_ID_CONFIG, group,
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
                    new StringDeserializer(), new StringDeserializer());
            IdempotentConsumerLoop<String, String> loop = IdempotentConsumerLoop.builder(consumer, handler)
                    .topics(topic)
                    .pollTimeout(Duration.ofMillis(100))
                    .maxAttempts(2)
                    .backoff(Duration.ofMillis(20), Duration.ofMillis(100))
                    .deadLetter(producer)
                    .recordListener(event -> {
                        if (event.outcome().isFinished()) {
                            finished.incrementAndGet();
                        }
                        System.out.println("record " + event.partition() + "@" + event.offset() + " "
                                + event.outcome());
                    })
                    .build();
            Future<?> running = thread.submit(loop);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (finished.get() < records && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            long closing = System.nanoTime();
            loop.close();
            running.get(30, TimeUnit.SECONDS); // whatever run() threw, closing the consumer included
            System.out.println("closed in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing) + " ms: "
                    + loop.awaitTermination(Duration.ZERO));
            effects.forEach((id, count) -> System.out.println("effect " + id + " " + count.get()));
            System.out.println("finished " + finished.get() + " of " + records);
            System.exit(finished.get() == records && loop.awaitTermination(Duration.ZERO) ? 0 : 1);
        } catch (Throwable e) {
            e.printStackTrace(System.out);
            System.exit(2);
        } finally {
            thread.shutdownNow();
        }
    }
}
