package org.idempotency.kafka;

import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;

/**
 * What {@link IdempotentConsumerLoop} did with one record, as given to a {@link RecordListener}. Immutable (the
 * record's headers are the record's own).
 *
 * @param record the record, with its topic, partition, offset, key, value and headers
 * @param outcome what was done with it
 * @param attempts how many times this loop has run the record's handler so far, this time included
 * @param error the error behind a retry, a wait, a dead-letter, a stop or an interrupt; {@code null} otherwise
 * @param <K> the record key type
 * @param <V> the record value type
 */
public record RecordEvent<K, V>(ConsumerRecord<K, V> record, Outcome outcome, int attempts,
        @Nullable Throwable error) {

    /** What the loop did with a record. */
    public enum Outcome {
        /** The handler ran and the message's record was completed: finished. */
        PROCESSED(true),
        /** The message had been processed before; the handler did not run: finished. */
        DUPLICATE(true),
        /** The message key holds another payload and the handler skips such records: finished. */
        SKIPPED_KEY_REUSED(true),
        /** Sent to the dead-letter topic (its send confirmed): finished. */
        DEAD_LETTERED(true),
        /** The handler failed; the record is tried again after a backoff. */
        RETRY_SCHEDULED(false),
        /** Held by a running execution elsewhere, or the store failed: the record is looked at again later. */
        WAITING(false),
        /** The loop gave up on the record and has no dead-letter topic: its partition stopped at it. */
        PARTITION_STOPPED(false),
        /** The loop's thread was interrupted: the record's claim was released and the loop stops. */
        INTERRUPTED(false);

        private final boolean finished;

        Outcome(boolean finished) {
            this.finished = finished;
        }

        /**
         * Whether the record is finished: its offset may be committed.
         *
         * @return {@code true} for the outcomes that finish a record
         */
        public boolean isFinished() {
            return finished;
        }
    }

    /**
     * Checks that the record and the outcome are given.
     *
     * @param record the record
     * @param outcome what was done with it
     * @param attempts how many times this loop has run the record's handler so far
     * @param error the error behind the outcome, or {@code null}
     */
    public RecordEvent {
        Objects.requireNonNull(record, "record");
        Objects.requireNonNull(outcome, "outcome");
    }

    /**
     * The record's topic and partition.
     *
     * @return a new {@code TopicPartition}
     */
    public TopicPartition partition() {
        return new TopicPartition(record.topic(), record.partition());
    }

    /**
     * The record's offset.
     *
     * @return {@code record().offset()}
     */
    public long offset() {
        return record.offset();
    }
}
