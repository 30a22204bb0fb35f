package org.idempotency.kafka;

/**
 * What {@link IdempotentRecordHandler} does with a record whose message key was already used by a message
 * with a different payload (a different request hash): a producer reusing ids, or a replay of an edited
 * message.
 */
public enum KeyReusePolicy {

    /**
     * Throw {@link org.idempotency.api.IdempotencyKeyReusedException}. {@link IdempotentConsumerLoop} does not
     * retry it: the partition stops at the record, or the record goes to the dead-letter topic. The default.
     */
    FAIL,

    /** Log a WARN line naming the topic, partition, offset and key, and treat the record as finished. */
    LOG_AND_SKIP
}
