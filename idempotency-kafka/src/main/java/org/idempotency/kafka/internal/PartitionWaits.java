package org.idempotency.kafka.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.idempotency.kafka.PartitionStop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partitions that wait at a record: paused and rewound to it, until a delay has passed (a retry, a record
 * held elsewhere) or for good (a stopped partition, until it is reassigned). Also remembers, per partition, how
 * often its current record failed and waited, which the retry policy turns into delays.
 *
 * <p>Confined to the loop's thread, except {@link #stopped()}, which any thread may read.
 */
public final class PartitionWaits {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionWaits.class);

    /** Where a partition waits: the record's offset, its failed attempts and its waits. */
    public record Retry(long offset, int failures, int waits) {
        public Retry failed() {
            return new Retry(offset, failures + 1, waits);
        }

        public Retry waited() {
            return new Retry(offset, failures, waits + 1);
        }
    }

    private final Consumer<?, ?> consumer;
    private final Map<TopicPartition, Long> resumeAt = new HashMap<>();
    private final Map<TopicPartition, Retry> retries = new HashMap<>();
    private final Map<TopicPartition, PartitionStop> stopped = new ConcurrentHashMap<>();

    public PartitionWaits(Consumer<?, ?> consumer) {
        this.consumer = consumer;
    }

    /** The retry state of the record at {@code offset}: fresh if the partition waited at another record. */
    public Retry retry(TopicPartition partition, long offset) {
        Retry retry = retries.get(partition);
        return retry != null && retry.offset() == offset ? retry : new Retry(offset, 0, 0);
    }

    /** Remembers the retry state of the partition's current record. */
    public void remember(TopicPartition partition, Retry retry) {
        retries.put(partition, retry);
    }

    /** The partition's current record is finished: forgets its retry state. */
    public void passed(TopicPartition partition) {
        if (!retries.isEmpty()) {
            retries.remove(partition);
        }
    }

    /** Rewinds the partition to the record and pauses it until the delay has passed. */
    public void retryLater(TopicPartition partition, long offset, long delayNanos) {
        consumer.seek(partition, offset);
        consumer.pause(List.of(partition));
        resumeAt.put(partition, System.nanoTime() + delayNanos);
    }

    /** Rewinds the partition to the record and pauses it, with no time to resume: the loop is stopping. */
    public void rewind(TopicPartition partition, long offset) {
        consumer.seek(partition, offset);
        consumer.pause(List.of(partition));
    }

    /** Rewinds the partition to the record and pauses it for good (until it is reassigned). */
    public void stop(TopicPartition partition, long offset, int attempts, Throwable error) {
        consumer.seek(partition, offset);
        consumer.pause(List.of(partition));
        resumeAt.remove(partition);
        retries.remove(partition);
        stopped.put(partition, new PartitionStop(partition, offset, attempts, RecordTexts.describe(error, 1000),
                Instant.now()));
        LOG.error("Partition {} stopped at offset {} after {} attempt(s); nothing at or after it is committed, and it"
                + " resumes only when reassigned (configure a dead-letter topic to set such records aside)",
                partition, offset, attempts, error);
    }

    /** Resumes the partitions whose delay has passed. */
    public void resumeDue() {
        if (resumeAt.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        List<TopicPartition> due = new ArrayList<>();
        resumeAt.forEach((partition, at) -> {
            if (now - at >= 0) {
                due.add(partition);
            }
        });
        if (due.isEmpty()) {
            return;
        }
        due.forEach(resumeAt::remove);
        due.retainAll(consumer.assignment());
        consumer.resume(due);
    }

    /** The poll timeout: {@code longest}, or less if a partition is due to resume sooner. */
    public Duration pollTimeout(Duration longest) {
        long timeout = longest.toNanos();
        long now = System.nanoTime();
        for (long at : resumeAt.values()) {
            timeout = Math.min(timeout, Math.max(0, at - now));
        }
        return Duration.ofNanos(timeout);
    }

    /** Pauses again the waiting partitions that are still assigned: pauses do not survive a rebalance. */
    public void pauseAgain() {
        Set<TopicPartition> waiting = new HashSet<>(resumeAt.keySet());
        waiting.addAll(stopped.keySet());
        waiting.retainAll(consumer.assignment());
        if (!waiting.isEmpty()) {
            consumer.pause(waiting);
        }
    }

    /** Forgets partitions that are no longer assigned. */
    public void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            resumeAt.remove(partition);
            retries.remove(partition);
            stopped.remove(partition);
        }
    }

    /** The stopped partitions, as of now; any thread may call it. */
    public Map<TopicPartition, PartitionStop> stopped() {
        return Map.copyOf(stopped);
    }
}
