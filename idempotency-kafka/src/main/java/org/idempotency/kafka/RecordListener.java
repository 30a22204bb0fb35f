package org.idempotency.kafka;

/**
 * Told what {@link IdempotentConsumerLoop} did with each record it looked at, with the record's topic, partition
 * and offset: processed, a duplicate, skipped, dead-lettered, to be retried, waiting, stopped at, or left because
 * the loop was interrupted. For metrics and audit logs that need a record's coordinates, which the engine's
 * {@link org.idempotency.api.IdempotencyListener} events do not carry.
 *
 * <p>Called on the loop's thread, after the outcome took effect (a dead-lettered record once its send was
 * confirmed): keep it short. Whatever it throws, an {@link Error} included, is logged and ignored.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
@FunctionalInterface
public interface RecordListener<K, V> {

    /**
     * One record's outcome.
     *
     * @param event the record and what was done with it
     */
    void onRecord(RecordEvent<K, V> event);
}
