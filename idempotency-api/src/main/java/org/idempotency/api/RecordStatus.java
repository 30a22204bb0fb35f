package org.idempotency.api;

/** The state of an idempotency record. */
public enum RecordStatus {
    /** An execution owns the key under a lease and is running the work. */
    IN_PROGRESS,
    /** The work finished; the result (or the fact that it was not kept) is stored for the retention period. */
    COMPLETED,
    /** The work failed permanently; the failure is stored and replayed for the retention period. */
    FAILED
}
