package org.idempotency.micrometer.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.observation.Observation;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.idempotency.micrometer.DefaultIdempotencyStoreCallConvention;
import org.idempotency.micrometer.IdempotencyMeterDocumentation;
import org.idempotency.micrometer.IdempotencyObservationDocumentation;
import org.idempotency.micrometer.IdempotencyObservationDocumentation.StoreCallKeys;
import org.idempotency.micrometer.IdempotencyStoreCallContext;
import org.jspecify.annotations.Nullable;

/** The instruments of one store: its store calls, observed or timed, and its purge counter. Thread-safe. */
final class StoreInstruments {

    private static final int RESULTS = StoreCallResult.values().length;

    final Instrumentation root;
    final String name;
    private final @Nullable Counter purged;
    /** Direct timers without error, by call and result, created on first use. */
    private final AtomicReferenceArray<Timer> timers =
            new AtomicReferenceArray<>(StoreCall.values().length * RESULTS);

    StoreInstruments(Instrumentation root, String name) {
        this.root = root;
        this.name = name;
        MeterRegistry meters = root.meters;
        this.purged = meters == null ? null : Counter.builder(IdempotencyMeterDocumentation.PURGED.getName())
                .description("Expired idempotency records removed by purges")
                .tag(IdempotencyMeterDocumentation.OperationKeys.STORE.asString(), name)
                .register(meters);
    }

    /**
     * Starts a store call: observed as a child of {@code parent} (or of the current observation, without one), or
     * timed directly.
     */
    StoreCallObservation call(StoreCall call, @Nullable Observation parent) {
        if (root.observing()) {
            return ObservedStoreCall.start(this, call, parent);
        }
        if (root.meters != null) {
            return new TimedStoreCall(this, call, System.nanoTime());
        }
        return NoopObservation.INSTANCE;
    }

    /** Counts what a call removed, when it is a purge. */
    void returned(StoreCall call, long count) {
        if (call == StoreCall.PURGE && purged != null && count > 0) {
            purged.increment(count);
        }
    }

    /** Records a directly timed call: {@code result} if it returned, {@code null} if it threw (a store fault). */
    void record(StoreCall call, @Nullable StoreCallResult result, long nanos) {
        timer(call, result).record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer timer(StoreCall call, @Nullable StoreCallResult result) {
        if (result == null) {
            return register(call, null, Redaction.STORE_FAULT);
        }
        int index = call.ordinal() * RESULTS + result.ordinal();
        Timer timer = timers.get(index);
        if (timer == null) {
            timer = register(call, result, "none");
            timers.set(index, timer);
        }
        return timer;
    }

    private Timer register(StoreCall call, @Nullable StoreCallResult result, String error) {
        return Timer.builder(DefaultIdempotencyStoreCallConvention.NAME)
                .tag(StoreCallKeys.CALL.asString(), DefaultIdempotencyStoreCallConvention.call(call))
                .tag(StoreCallKeys.STORE.asString(), name)
                .tag(StoreCallKeys.RESULT.asString(), DefaultIdempotencyStoreCallConvention.result(result))
                .tag("error", error)
                .register(root.meters);
    }

    /**
     * A store call observed through the observation registry. While the call runs, its execution's observation is
     * current on the calling thread (whichever thread finishes the execution or renews its lease) and the call's
     * own observation is current within it, so the call nests under the execution, and what a store driver
     * observes nests under the call. Both scopes are closed on that thread when the call returns.
     */
    private static final class ObservedStoreCall implements StoreCallObservation {

        private final StoreInstruments store;
        private final IdempotencyStoreCallContext context;
        private final Observation observation;
        private final Observation.Scope scope;
        private final Observation.@Nullable Scope parentScope;

        private ObservedStoreCall(StoreInstruments store, IdempotencyStoreCallContext context,
                Observation observation, Observation.Scope scope, Observation.@Nullable Scope parentScope) {
            this.store = store;
            this.context = context;
            this.observation = observation;
            this.scope = scope;
            this.parentScope = parentScope;
        }

        static StoreCallObservation start(StoreInstruments store, StoreCall call, @Nullable Observation parent) {
            Observation.Scope parentScope = parent != null && !parent.isNoop() ? parent.openScope() : null;
            try {
                IdempotencyStoreCallContext context = new IdempotencyStoreCallContext(call, store.name);
                Observation observation = IdempotencyObservationDocumentation.STORE_CALL.observation(
                        store.root.storeCallConvention, DefaultIdempotencyStoreCallConvention.INSTANCE, () -> context,
                        store.root.observations);
                if (parentScope != null) {
                    observation.parentObservation(parent);
                }
                observation.start();
                return new ObservedStoreCall(store, context, observation, observation.openScope(), parentScope);
            } catch (RuntimeException | Error e) {
                if (parentScope != null) {
                    parentScope.close();
                }
                throw e;
            }
        }

        @Override
        public void end(StoreCallResult result, long count) {
            store.returned(context.getCall(), count);
            context.setResult(result, count);
            stop();
        }

        @Override
        public void error(Throwable error) {
            observation.error(Redaction.storeFault(context.getCall(), error));
            stop();
        }

        private void stop() {
            try {
                scope.close();
                observation.stop();
            } finally {
                if (parentScope != null) {
                    parentScope.close();
                }
            }
        }
    }

    /** A store call timed directly into the meter registry. */
    private static final class TimedStoreCall implements StoreCallObservation {

        private final StoreInstruments store;
        private final StoreCall call;
        private final long startNanos;

        TimedStoreCall(StoreInstruments store, StoreCall call, long startNanos) {
            this.store = store;
            this.call = call;
            this.startNanos = startNanos;
        }

        @Override
        public void end(StoreCallResult result, long count) {
            store.record(call, result, System.nanoTime() - startNanos);
            store.returned(call, count);
        }

        @Override
        public void error(Throwable error) {
            store.record(call, null, System.nanoTime() - startNanos);
        }
    }
}
