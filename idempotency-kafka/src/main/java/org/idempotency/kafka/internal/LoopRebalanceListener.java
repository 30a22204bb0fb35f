package org.idempotency.kafka.internal;

import java.util.Collection;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer loop's rebalance listener: commits the finished records of revoked partitions, forgets the
 * state of partitions that leave (revoked or lost), pauses again the waiting partitions that stay, then calls
 * the application's listener. Called by the consumer on the loop's thread, inside {@code poll}.
 */
public final class LoopRebalanceListener implements ConsumerRebalanceListener {

    private static final Logger LOG = LoggerFactory.getLogger(LoopRebalanceListener.class);

    private final CommitTracker commits;
    private final PartitionWaits waits;
    private final @Nullable ConsumerRebalanceListener userListener;

    public LoopRebalanceListener(CommitTracker commits, PartitionWaits waits,
            @Nullable ConsumerRebalanceListener userListener) {
        this.commits = commits;
        this.waits = waits;
        this.userListener = userListener;
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        try {
            commits.commitSync(partitions, "revocation of " + partitions);
        } finally {
            commits.forget(partitions);
            waits.forget(partitions);
            if (userListener != null) {
                userListener.onPartitionsRevoked(partitions);
            }
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        LOG.warn("Partitions {} were lost (this consumer left the group without revoking them); their finished"
                + " records not yet committed will be delivered again and recognised as duplicates", partitions);
        commits.forget(partitions);
        waits.forget(partitions);
        if (userListener != null) {
            userListener.onPartitionsLost(partitions);
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        waits.pauseAgain();
        if (userListener != null) {
            userListener.onPartitionsAssigned(partitions);
        }
    }
}
