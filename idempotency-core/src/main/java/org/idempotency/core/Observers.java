package org.idempotency.core;

import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.idempotency.core.IdempotencyObserver.OperationObserver;
import org.idempotency.core.IdempotencyObserver.Scope;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;

/**
 * How the engine calls its {@link IdempotencyObserver}: every call goes through these methods, which log and
 * ignore whatever the observer throws (an {@code Error} included), so an observer never changes an outcome, ends
 * a renewal or leaves a key held. Without an observer the engine uses {@link #NOOP}, which allocates nothing.
 */
final class Observers {

    /** The observer of an engine without one: every method returns itself or does nothing. */
    static final Noop NOOP = new Noop();

    private Observers() {
    }

    static OperationObserver operation(IdempotencyObserver observer, String operation, IdempotencyStore store) {
        try {
            return nonNull(observer.operation(operation, store));
        } catch (Throwable e) {
            failed("operation", e);
            return NOOP;
        }
    }

    static ExecutionObservation start(OperationObserver observer) {
        try {
            return nonNull(observer.startExecution());
        } catch (Throwable e) {
            failed("startExecution", e);
            return NOOP;
        }
    }

    static StoreCallObservation call(IdempotencyObserver observer, StoreCall call, IdempotencyStore store) {
        try {
            return nonNull(observer.storeCall(call, store));
        } catch (Throwable e) {
            failed("storeCall", e);
            return NOOP;
        }
    }

    static StoreCallObservation call(OperationObserver observer, StoreCall call) {
        try {
            return nonNull(observer.storeCall(call));
        } catch (Throwable e) {
            failed("storeCall", e);
            return NOOP;
        }
    }

    static StoreCallObservation call(ExecutionObservation execution, StoreCall call) {
        try {
            return nonNull(execution.storeCall(call));
        } catch (Throwable e) {
            failed("storeCall", e);
            return NOOP;
        }
    }

    static void end(StoreCallObservation call, StoreCallResult result, long count) {
        try {
            call.end(result, count);
        } catch (Throwable e) {
            failed("end", e);
        }
    }

    static void error(StoreCallObservation call, Throwable error) {
        try {
            call.error(error);
        } catch (Throwable e) {
            failed("error", e);
        }
    }

    static StoreCallResult owned(boolean applied) {
        return applied ? StoreCallResult.DONE : StoreCallResult.NOT_OWNED;
    }

    static Scope scope(ExecutionObservation execution) {
        try {
            return nonNull(execution.openScope());
        } catch (Throwable e) {
            failed("openScope", e);
            return NOOP;
        }
    }

    static void close(Scope scope) {
        try {
            scope.close();
        } catch (Throwable e) {
            failed("close", e);
        }
    }

    static void event(ExecutionObservation execution, IdempotencyEvent.Type type) {
        try {
            execution.event(type);
        } catch (Throwable e) {
            failed("event", e);
        }
    }

    static void end(ExecutionObservation execution, IdempotencyEvent.Type outcome, @Nullable Throwable error) {
        try {
            execution.end(outcome, error);
        } catch (Throwable e) {
            failed("end", e);
        }
    }

    private static <T> T nonNull(@Nullable T value) {
        if (value == null) {
            throw new NullPointerException("the observer returned null");
        }
        return value;
    }

    private static void failed(String method, Throwable e) {
        Idempotency.LOG.warn("Idempotency observer failed in {}; ignored", method, e);
    }

    /** Does nothing. */
    static final class Noop implements IdempotencyObserver, OperationObserver, ExecutionObservation,
            StoreCallObservation, Scope {

        private Noop() {
        }

        @Override
        public OperationObserver operation(String operation, IdempotencyStore store) {
            return this;
        }

        @Override
        public StoreCallObservation storeCall(StoreCall call, IdempotencyStore store) {
            return this;
        }

        @Override
        public ExecutionObservation startExecution() {
            return this;
        }

        @Override
        public StoreCallObservation storeCall(StoreCall call) {
            return this;
        }

        @Override
        public Scope openScope() {
            return this;
        }

        @Override
        public void event(IdempotencyEvent.Type type) {
        }

        @Override
        public void end(IdempotencyEvent.Type outcome, @Nullable Throwable error) {
        }

        @Override
        public void end(StoreCallResult result, long count) {
        }

        @Override
        public void error(Throwable error) {
        }

        @Override
        public void close() {
        }
    }
}
