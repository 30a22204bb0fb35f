/**
 * Idempotent processing of Kafka records with kafka-clients. Start with
 * {@link org.idempotency.kafka.IdempotentRecordHandler} (wraps a {@link org.idempotency.kafka.RecordHandler}),
 * run it with {@link org.idempotency.kafka.IdempotentConsumerLoop}, or call
 * {@link org.idempotency.kafka.MessageDeduplicator} from a loop of your own.
 */
@NullMarked
package org.idempotency.kafka;

import org.jspecify.annotations.NullMarked;
