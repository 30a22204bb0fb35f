package org.idempotency.kafka;

import java.time.Instant;
import java.util.Objects;
import org.apache.kafka.common.TopicPartition;

/**
 * A partition that {@link IdempotentConsumerLoop} stopped at a record it could not process: the record's
 * handler failed on every attempt (or failed in a way retries cannot fix) and no dead-letter topic is
 * configured. Nothing at or after {@code offset} is committed. The partition stays paused in this consumer
 * until it is reassigned (a rebalance or restart), when its new owner tries the record again.
 *
 * @param partition the stopped partition
 * @param offset the offset of the record it stopped at
 * @param attempts how many times the handler was tried
 * @param error the last error, as {@code class: message}
 * @param stoppedAt when the partition stopped
 */
public record PartitionStop(TopicPartition partition, long offset, int attempts, String error, Instant stoppedAt) {
    /**
     * Checks that the partition, the error and the time are given.
     *
     * @param partition the stopped partition
     * @param offset the offset of the record it stopped at
     * @param attempts how many times the handler was tried
     * @param error the last error, as {@code class: message}
     * @param stoppedAt when the partition stopped
     */
    public PartitionStop {
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(stoppedAt, "stoppedAt");
    }
}
