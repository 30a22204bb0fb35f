package org.idempotency.kafka;

/**
 * The headers {@link IdempotentConsumerLoop} adds to a record it sends to the dead-letter topic, after the
 * original record's own headers. Values are UTF-8 text.
 */
public final class DeadLetterHeaders {

    /** The topic the record was consumed from. */
    public static final String ORIGINAL_TOPIC = "idempotency.dlt.original-topic";
    /** Its partition, in decimal. */
    public static final String ORIGINAL_PARTITION = "idempotency.dlt.original-partition";
    /** Its offset, in decimal. */
    public static final String ORIGINAL_OFFSET = "idempotency.dlt.original-offset";
    /** Its timestamp, in milliseconds since the epoch, in decimal. */
    public static final String ORIGINAL_TIMESTAMP = "idempotency.dlt.original-timestamp";
    /** The consumer group that gave up on it, if the consumer has one. */
    public static final String CONSUMER_GROUP = "idempotency.dlt.consumer-group";
    /**
     * Why it was dead-lettered: {@code handler-failed} (every attempt failed), {@code not-retryable} (the handler
     * failed with an exception the loop does not retry), {@code key-reused} (the message key holds a different
     * payload), {@code unidentifiable} (no usable message key or request hash), or {@code failure-recorded} (an
     * earlier attempt recorded a permanent failure).
     */
    public static final String REASON = "idempotency.dlt.reason";
    /** The class name of the last exception. */
    public static final String EXCEPTION_CLASS = "idempotency.dlt.exception-class";
    /** The message of the last exception, at most 1,000 characters. */
    public static final String EXCEPTION_MESSAGE = "idempotency.dlt.exception-message";
    /** How many times the handler was tried, in decimal. */
    public static final String ATTEMPTS = "idempotency.dlt.attempts";

    private DeadLetterHeaders() {
    }
}
