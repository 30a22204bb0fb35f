package org.idempotency.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The application's work for one Kafka record: the side effect that must happen once per message. Wrapped by
 * {@link IdempotentRecordHandler}. Throwing means the work did not happen (or must be retried): the message's
 * key is released so that a retry runs it again.
 *
 * <p>Implementations are called from the consumer's thread, one record at a time.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
@FunctionalInterface
public interface RecordHandler<K, V> {

    /**
     * Does the work for one record.
     *
     * @param record the record
     * @throws Exception if the work failed; it is retried or reported, never committed as done
     */
    void handle(ConsumerRecord<K, V> record) throws Exception;
}
