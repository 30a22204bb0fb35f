package org.idempotency.benchmarks;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.kafka.MessageKeyStrategy;

/**
 * What {@link IdempotentConsumerLoop} itself costs per record, without a broker: the loop (batch claims and
 * completions) on the in-memory store consumes records that a {@code MockConsumer} hands out in polls of 500,
 * built once before the runs, so a pass is the loop's own work and nothing else. Prints, per round, the
 * nanoseconds per record and, at the end, their median and the bytes the loop's thread allocated per record in
 * the last round. The store is one for the whole run, its records expired and purged between rounds, as in a
 * long-running consumer, and a full collection runs between rounds (outside the measurement).
 *
 * <pre>
 * java -Xms2g -Xmx2g -cp benchmarks.jar org.idempotency.benchmarks.KafkaLoopOverhead [rounds] [records]
 * </pre>
 *
 * The first third of the rounds warms up and is not counted. {@link KafkaConsumerBenchmark} measures the loop
 * against the raw loop on a real broker, where the waits for fetches come on top.
 */
public final class KafkaLoopOverhead {

    private static final String HEADER = "message-id";
    private static final int POLL = 500;

    private KafkaLoopOverhead() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        List<TopicPartition> partitions = new ArrayList<>();
        for (int p = 0; p < 4; p++) {
            partitions.add(new TopicPartition("bench", p));
        }
        List<ConsumerRecords<String, byte[]>> polls = polls(count, partitions);
        KafkaConsumerBenchmark.MovableClock clock = new KafkaConsumerBenchmark.MovableClock();
        InMemoryIdempotencyStore store = InMemoryIdempotencyStore.withClock(clock);
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] handled = new long[1];
        List<Double> measured = new ArrayList<>();
        long allocated = 0;
        try (Idempotency idempotency = Idempotency.builder(store).purgeInterval(Duration.ZERO).build()) {
            for (int round = 0; round < rounds; round++) {
                handled[0] = 0;
                AtomicReference<IdempotentConsumerLoop<String, byte[]>> loop = new AtomicReference<>();
                IdempotentRecordHandler<String, byte[]> handler = IdempotentRecordHandler
                        .<String, byte[]>builder(idempotency, "overhead-" + round, record -> {
                            if (++handled[0] == count) {
                                loop.get().wakeup();
                            }
                        })
                        .messageKey(MessageKeyStrategy.header(HEADER))
                        .build();
                loop.set(IdempotentConsumerLoop.builder(consumer(polls, partitions), handler)
                        .batchClaims(true).batchCompletions(true).build());
                long bytes = threads.getCurrentThreadAllocatedBytes();
                long start = System.nanoTime();
                loop.get().run();
                double nanos = (System.nanoTime() - start) / (double) count;
                allocated = threads.getCurrentThreadAllocatedBytes() - bytes;
                if (handled[0] != count) {
                    throw new IllegalStateException("the loop handled " + handled[0] + " records, not " + count);
                }
                System.out.printf("round %2d%s: %,.0f ns per record%n", round + 1,
                        round < rounds / 3 ? " (warm-up)" : "", nanos);
                if (round >= rounds / 3) {
                    measured.add(nanos);
                }
                clock.advance(Duration.ofDays(2)); // the round's records expire and are purged
                store.purgeExpired();
                System.gc(); // each round starts from the same heap: without it, rounds differ by half
            }
        }
        measured.sort(null);
        System.out.printf("%nmedian %,.0f ns per record over %d rounds of %,d records; the last round allocated"
                + " %,d bytes per record on the loop's thread%n", measured.get(measured.size() / 2),
                measured.size(), count, allocated / count);
    }

    /** The records (100-byte payloads, a message-id header) in polls of {@value #POLL}, over four partitions. */
    private static List<ConsumerRecords<String, byte[]>> polls(int count, List<TopicPartition> partitions) {
        byte[] payload = new byte[100];
        Arrays.fill(payload, (byte) 'x');
        long[] offsets = new long[partitions.size()];
        List<ConsumerRecords<String, byte[]>> polls = new ArrayList<>();
        for (int from = 0; from < count; from += POLL) {
            Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> byPartition = new LinkedHashMap<>();
            for (int i = from; i < Math.min(count, from + POLL); i++) {
                TopicPartition partition = partitions.get(i % partitions.size());
                String id = "msg-" + i;
                RecordHeaders headers = new RecordHeaders();
                headers.add(HEADER, id.getBytes(StandardCharsets.UTF_8));
                byPartition.computeIfAbsent(partition, p -> new ArrayList<>()).add(new ConsumerRecord<>(
                        partition.topic(), partition.partition(), offsets[partition.partition()]++, 0L,
                        TimestampType.CREATE_TIME, 0, payload.length, id, payload, headers, Optional.empty()));
            }
            polls.add(new ConsumerRecords<>(byPartition, Map.of()));
        }
        return polls;
    }

    /** A consumer assigned the partitions that hands out the prepared polls, then empty ones. */
    private static MockConsumer<String, byte[]> consumer(List<ConsumerRecords<String, byte[]>> polls,
            List<TopicPartition> partitions) {
        MockConsumer<String, byte[]> consumer = new MockConsumer<>("earliest") {
            private int next;

            @Override
            public synchronized ConsumerRecords<String, byte[]> poll(Duration timeout) {
                return next < polls.size() ? polls.get(next++) : super.poll(Duration.ZERO);
            }
        };
        consumer.assign(partitions);
        Map<TopicPartition, Long> beginning = new HashMap<>();
        for (TopicPartition partition : partitions) {
            beginning.put(partition, 0L);
        }
        consumer.updateBeginningOffsets(beginning);
        return consumer;
    }
}
