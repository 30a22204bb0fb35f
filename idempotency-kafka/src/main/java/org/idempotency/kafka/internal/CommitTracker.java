package org.idempotency.kafka.internal;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which offsets the loop may commit, and committing them: per partition, the offset after the last record
 * that is finished together with every record before it. Committed asynchronously after each poll (a failed
 * commit is tried again with the next one), synchronously when partitions are revoked and at shutdown.
 *
 * <p>Confined to the loop's thread (the consumer calls commit callbacks on it too).
 */
public final class CommitTracker {

    private static final Logger LOG = LoggerFactory.getLogger(CommitTracker.class);

    private final Consumer<?, ?> consumer;
    private final Duration timeout;
    /** Finished and not yet known to be committed. */
    private final Map<TopicPartition, OffsetAndMetadata> finished = new HashMap<>();
    /** Finished and not yet sent in a commit. */
    private final Map<TopicPartition, OffsetAndMetadata> uncommitted = new HashMap<>();

    /**
     * @param consumer the loop's consumer
     * @param timeout the bound of a synchronous commit
     */
    public CommitTracker(Consumer<?, ?> consumer, Duration timeout) {
        this.consumer = consumer;
        this.timeout = timeout;
    }

    /** Records that the partition's records before {@code nextOffset} are finished. */
    public void finished(TopicPartition partition, long nextOffset, Optional<Integer> leaderEpoch) {
        OffsetAndMetadata next = new OffsetAndMetadata(nextOffset, leaderEpoch, "");
        finished.put(partition, next);
        uncommitted.put(partition, next);
    }

    /** Commits what was finished since the last commit, without waiting. */
    public void commitAsync() {
        if (uncommitted.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(uncommitted);
        uncommitted.clear();
        consumer.commitAsync(offsets, (committed, error) -> {
            if (error == null) {
                committed.forEach(finished::remove); // removes only entries still equal to what was committed
                return;
            }
            LOG.warn("Committing offsets {} failed; they are committed again later: {}", offsets, error.toString());
            offsets.forEach((partition, offset) -> {
                if (offset.equals(finished.get(partition))) {
                    uncommitted.putIfAbsent(partition, offset);
                }
            });
        });
    }

    /** Commits every finished record now. Failures are logged, not thrown. */
    public void commitAllSync(String when) {
        commitSync(finished.keySet(), when);
    }

    /** Commits the finished records of the given partitions now. Failures are logged, not thrown. */
    public void commitSync(Collection<TopicPartition> partitions, String when) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : partitions) {
            OffsetAndMetadata offset = finished.get(partition);
            if (offset != null) {
                offsets.put(partition, offset);
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                consumer.commitSync(offsets, timeout);
                offsets.forEach(finished::remove);
                offsets.keySet().forEach(uncommitted::remove);
                LOG.debug("Committed {} on {}", offsets, when);
                return;
            } catch (WakeupException e) {
                if (attempt == 1) {
                    continue; // a wakeup meant for a poll; the loop stops anyway
                }
                LOG.warn("Could not commit {} on {}: woken up", offsets, when);
                return;
            } catch (KafkaException e) {
                LOG.warn("Could not commit {} on {}; those records will be delivered again and recognised as"
                        + " duplicates: {}", offsets, when, e.toString());
                return;
            }
        }
    }

    /** Forgets partitions that are no longer assigned, without committing. */
    public void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            finished.remove(partition);
            uncommitted.remove(partition);
        }
    }
}
