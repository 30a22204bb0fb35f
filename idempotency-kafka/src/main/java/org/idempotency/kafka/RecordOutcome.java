package org.idempotency.kafka;

/**
 * What {@link IdempotentRecordHandler#handle} did with a record. Every outcome means the record is finished
 * and its offset may be committed; records that are not finished are reported by an exception instead.
 */
public enum RecordOutcome {

    /** The handler ran and the message's record was completed in the store. */
    PROCESSED,

    /** The message had already been processed (its record is completed); the handler did not run. */
    DUPLICATE,

    /**
     * The message key was already used by a message with a different payload, and the handler is configured
     * with {@link KeyReusePolicy#LOG_AND_SKIP}: a WARN line was logged and the handler did not run.
     */
    SKIPPED_KEY_REUSED
}
