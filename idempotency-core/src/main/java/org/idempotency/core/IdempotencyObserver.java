package org.idempotency.core;

import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.spi.IdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * A hook for metrics and tracing: the engine tells it when each execution starts and ends, and wraps each store
 * call it makes, so that an implementation can time both and nest the store calls under the execution. Install
 * one with {@link Idempotency.Builder#observer}; {@code idempotency-micrometer} is the implementation on
 * Micrometer's Observation API. Without one the engine calls a no-op that allocates nothing.
 *
 * <p>The hook never sees a key, a request hash, a result or a payload: only operation names, the kind of store
 * call, outcomes and exceptions. It learns which operations exist as the engine creates their handles
 * ({@link #operation}), so an implementation can register what it needs per operation before the first call.
 *
 * <p>The rules the engine keeps, and implementations may rely on:
 * <ul>
 *   <li>An {@link ExecutionObservation} is ended exactly once with {@link ExecutionObservation#end}, from any
 *       thread: at once for replays and conflicts, when its caller finishes it for owned executions (which may be
 *       on another thread than the one that began it), or when an unfinished execution is garbage-collected.</li>
 *   <li>A {@link StoreCallObservation} is started on the thread that makes the call, immediately before it, and
 *       ended on the same thread, immediately after, with {@link StoreCallObservation#end} or
 *       {@link StoreCallObservation#error}, exactly once, even if the call throws an {@link Error}. So a scope an
 *       implementation opens when the call starts can be closed when it ends.</li>
 *   <li>{@link ExecutionObservation#openScope()} is used only on the caller's thread around work the engine runs
 *       itself ({@code execute}, {@code call}, {@code run}), and closed on that thread before the execution
 *       ends. Work that a caller of {@code begin} runs is never inside a scope of the engine's.</li>
 *   <li>Whatever an implementation throws is logged and ignored: it never changes an outcome.</li>
 * </ul>
 *
 * <p>Implementations are thread-safe and fast: they run on the callers' threads and on the engine's lease-renewal
 * threads, once or twice per store call.
 */
public interface IdempotencyObserver {

    /**
     * Called when the engine creates a handle for an operation ({@link Idempotency#operation}, and the operation
     * of {@link Idempotency#execute} when first used), on the creating thread. Handles are created once and
     * kept, usually, but the same name may come more than once: return the same observer for it.
     *
     * @param operation the operation's name
     * @param store the store the engine runs over
     * @return the observer of this operation's executions, kept by the handle
     */
    OperationObserver operation(String operation, IdempotencyStore store);

    /**
     * A store call that belongs to no single execution: a batch acquire ({@link StoreCall#ACQUIRE_ALL}), a batch
     * lease renewal ({@link StoreCall#EXTEND_ALL}), the release of a garbage-collected execution's key
     * ({@link StoreCall#RELEASE}), or a purge ({@link StoreCall#PURGE}).
     *
     * @param call what is called
     * @param store the store called
     * @return the started observation of the call
     */
    StoreCallObservation storeCall(StoreCall call, IdempotencyStore store);

    /** Observes the executions of one operation. Thread-safe. */
    interface OperationObserver {

        /**
         * An execution starts: {@code begin}, {@code execute}, or one key of {@code beginAll}, after its key was
         * checked. Called on the caller's thread.
         *
         * @return the started observation, ended once when the execution ends
         */
        ExecutionObservation startExecution();

        /**
         * A store call of this operation outside any execution ({@link StoreCall#FIND}).
         *
         * @param call what is called
         * @return the started observation of the call
         */
        StoreCallObservation storeCall(StoreCall call);
    }

    /** One execution, from its start to its outcome. Thread-safe. */
    interface ExecutionObservation {

        /**
         * A store call made for this execution: its acquires, its finishing call, and the renewals of its lease
         * (those on the engine's renewal threads).
         *
         * @param call what is called
         * @return the started observation of the call
         */
        StoreCallObservation storeCall(StoreCall call);

        /**
         * Makes this execution current on the calling thread while the engine runs the work of {@code execute},
         * {@code call} or {@code run}, so that what the work observes nests under it.
         *
         * @return the scope, closed on the same thread when the work ends
         */
        Scope openScope();

        /**
         * Something happened to the execution while it is open: {@link IdempotencyEvent.Type#ACQUIRED} (it owns
         * the key and its caller runs the work), {@link IdempotencyEvent.Type#TAKEOVER} (it owns the key by taking
         * over an expired lease), {@link IdempotencyEvent.Type#LEASE_RENEWED},
         * {@link IdempotencyEvent.Type#LEASE_LOST} (while the work runs), {@link IdempotencyEvent.Type#LEAKED}
         * (open past the engine's maximum execution time). May come from the engine's reporting thread.
         *
         * @param type what happened
         */
        void event(IdempotencyEvent.Type type);

        /**
         * The execution ended. The outcome is one of {@link IdempotencyEvent.Type#COMPLETED},
         * {@link IdempotencyEvent.Type#REPLAYED}, {@link IdempotencyEvent.Type#IN_PROGRESS},
         * {@link IdempotencyEvent.Type#KEY_REUSED}, {@link IdempotencyEvent.Type#FAILURE_RECORDED},
         * {@link IdempotencyEvent.Type#FAILURE_REPLAYED}, {@link IdempotencyEvent.Type#RELEASED},
         * {@link IdempotencyEvent.Type#RESULT_NOT_KEPT}, {@link IdempotencyEvent.Type#STORE_ERROR},
         * {@link IdempotencyEvent.Type#UNPROTECTED}, {@link IdempotencyEvent.Type#LEASE_LOST} (a finishing call
         * was refused: another execution owns the key) or {@link IdempotencyEvent.Type#LEAKED} (garbage-collected
         * unfinished).
         *
         * @param outcome how it ended
         * @param error what it ended with: what the work threw (released, failure recorded, unprotected), the
         *     store's fault (store error), or a stored result that could not be decoded (replayed); {@code null}
         *     otherwise. Exceptions of this library name the key in their message.
         */
        void end(IdempotencyEvent.Type outcome, @Nullable Throwable error);
    }

    /** One store call, started just before it is made. Not shared between threads. */
    interface StoreCallObservation {

        /**
         * The call returned.
         *
         * @param result what it answered
         * @param count for {@link StoreCall#PURGE} the records removed, for batch calls the keys, otherwise 1
         */
        void end(StoreCallResult result, long count);

        /**
         * The call threw.
         *
         * @param error what it threw; exceptions of this library name the key in their message
         */
        void error(Throwable error);
    }

    /** A scope opened by {@link ExecutionObservation#openScope()}. */
    interface Scope extends AutoCloseable {
        /** Closes the scope; never throws. */
        @Override
        void close();
    }

    /** The store calls the engine makes. */
    enum StoreCall {
        /** {@link IdempotencyStore#acquire}. */
        ACQUIRE,
        /** {@link org.idempotency.api.spi.BatchAcquiringIdempotencyStore#acquireAll}. */
        ACQUIRE_ALL,
        /** {@link IdempotencyStore#complete}, or a completion written in the caller's transaction. */
        COMPLETE,
        /** {@link IdempotencyStore#fail}. */
        FAIL,
        /** {@link IdempotencyStore#release}. */
        RELEASE,
        /** {@link IdempotencyStore#extend}. */
        EXTEND,
        /** {@link org.idempotency.api.spi.BatchExtendingIdempotencyStore#extendAll}. */
        EXTEND_ALL,
        /** {@link IdempotencyStore#find}. */
        FIND,
        /** {@link org.idempotency.api.spi.BatchCompletingIdempotencyStore#completeAll}. */
        COMPLETE_ALL,
        /** {@link org.idempotency.api.spi.ForgettingIdempotencyStore#forget}. */
        FORGET,
        /** {@link org.idempotency.api.spi.PurgeableIdempotencyStore#purgeExpired}. */
        PURGE
    }

    /** What a store call answered. */
    enum StoreCallResult {
        /** An acquire created a new record. */
        ACQUIRED,
        /** An acquire took over an expired lease. */
        TAKEN_OVER,
        /** An acquire found a record it may not take (completed, failed, or held). */
        EXISTING,
        /** A complete, fail, release or extend was applied; a batch call or a purge returned. */
        DONE,
        /** A complete, fail, release or extend was refused: the fencing token no longer owns the record. */
        NOT_OWNED,
        /** A find returned a record. */
        FOUND,
        /** A find found nothing. */
        ABSENT
    }
}
