package org.idempotency.api;

/**
 * Receives every outcome of every execution: for metrics, tracing and audit. Called on the thread that
 * produced the event (the caller's thread, or the lease-renewal thread for renewals), so implementations
 * must be thread-safe and fast. An exception thrown by a listener is logged and otherwise ignored: it never
 * changes the outcome of an execution.
 */
@FunctionalInterface
public interface IdempotencyListener {

    /**
     * Handles one event.
     *
     * @param event what happened
     */
    void onEvent(IdempotencyEvent event);
}
