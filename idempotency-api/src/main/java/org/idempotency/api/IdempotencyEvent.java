package org.idempotency.api;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One outcome of one execution, as delivered to {@link IdempotencyListener}s.
 *
 * @param type what happened
 * @param operation the operation (key namespace) the execution belongs to
 * @param key the caller's key, without the operation prefix
 * @param fencingToken the fencing token involved, or 0 when there is none (replays, conflicts)
 * @param elapsed time since the execution started (for renewals: since the work started)
 * @param error the exception involved, for {@link Type#STORE_ERROR}, {@link Type#FAILURE_RECORDED},
 *     {@link Type#RELEASED} (what the work threw, if it threw), {@link Type#UNPROTECTED},
 *     {@link Type#LEASE_LOST}, {@link Type#LEAKED} (when the lease ran out) and {@link Type#RESULT_NOT_KEPT}
 *     (why it was not kept); otherwise {@code null}
 */
public record IdempotencyEvent(Type type, String operation, String key, long fencingToken, Duration elapsed,
        @Nullable Throwable error) {

    /**
     * Checks that the fields other than {@code error} are present.
     *
     * @param type what happened
     * @param operation the operation (key namespace) the execution belongs to
     * @param key the caller's key, without the operation prefix
     * @param fencingToken the fencing token involved, or 0 when there is none (replays, conflicts)
     * @param elapsed time since the execution started (for renewals: since the work started)
     * @param error the exception involved, for {@link Type#STORE_ERROR}, {@link Type#FAILURE_RECORDED},
     *     {@link Type#RELEASED} and {@link Type#UNPROTECTED}; otherwise {@code null}
     * @throws NullPointerException if {@code type}, {@code operation}, {@code key} or {@code elapsed} is null
     */
    public IdempotencyEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(operation, "operation");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(elapsed, "elapsed");
    }

    /** The kinds of outcome. */
    public enum Type {
        /** A new record was created; this execution runs the work. */
        ACQUIRED,
        /** An expired lease was taken over with a larger fencing token; this execution runs the work. */
        TAKEOVER,
        /** A stored result was returned without running the work. */
        REPLAYED,
        /** A recorded failure was replayed without running the work. */
        FAILURE_REPLAYED,
        /** The key is held by a live lease; the caller got an in-progress error. */
        IN_PROGRESS,
        /** The key was used with a different request; the caller got a key-reused error. */
        KEY_REUSED,
        /** The work succeeded and its result was stored. */
        COMPLETED,
        /** The work succeeded, but its result was too large or not encodable and was not kept. */
        RESULT_NOT_KEPT,
        /** The work failed permanently and the failure was stored. */
        FAILURE_RECORDED,
        /** The work failed and the record was deleted so that a retry runs it again. */
        RELEASED,
        /** The background renewal extended the lease. */
        LEASE_RENEWED,
        /**
         * The execution no longer owns its key, or can no longer be sure it does: a finishing call or a renewal
         * was refused because the fencing token is no longer current (another execution took the record over,
         * or it expired), or no renewal could be confirmed before the lease ended. The error is an
         * {@link IdempotencyLeaseLostException}.
         */
        LEASE_LOST,
        /**
         * An owned execution was never finished by its caller: it stayed open past the engine's maximum execution
         * time (its lease is no longer renewed; the error is an {@link IdempotencyLeaseLostException}), or it was
         * garbage-collected unfinished (its key was released).
         */
        LEAKED,
        /** The store failed. */
        STORE_ERROR,
        /** The store failed and, as configured (fail open), the work ran without protection. */
        UNPROTECTED
    }
}
