package org.idempotency.micrometer.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.observation.Observation;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.idempotency.core.IdempotencyObserver.OperationObserver;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.micrometer.DefaultIdempotencyExecutionConvention;
import org.idempotency.micrometer.IdempotencyExecutionContext;
import org.idempotency.micrometer.IdempotencyMeterDocumentation;
import org.idempotency.micrometer.IdempotencyMeterDocumentation.OperationKeys;
import org.idempotency.micrometer.IdempotencyObservationDocumentation;
import org.idempotency.micrometer.IdempotencyObservationDocumentation.ExecutionKeys;
import org.jspecify.annotations.Nullable;

/**
 * The instruments of one operation over one store: its executions, observed or timed, and its counters and long
 * task timer, registered when the operation is announced. Thread-safe.
 */
final class OperationInstruments implements OperationObserver {

    final Instrumentation root;
    final StoreInstruments store;
    final String name;
    final @Nullable Counter takeovers;
    final @Nullable Counter renewals;
    final @Nullable Counter losses;
    final @Nullable Counter leaked;
    final @Nullable LongTaskTimer running;
    /** Direct timers without error, by outcome, created on first use. */
    private final AtomicReferenceArray<Timer> timers =
            new AtomicReferenceArray<>(IdempotencyEvent.Type.values().length);

    OperationInstruments(Instrumentation root, StoreInstruments store, String name) {
        this.root = root;
        this.store = store;
        this.name = name;
        MeterRegistry meters = root.meters;
        if (meters == null) {
            this.takeovers = null;
            this.renewals = null;
            this.losses = null;
            this.leaked = null;
            this.running = null;
        } else {
            Tags tags = Tags.of(OperationKeys.OPERATION.asString(), name, OperationKeys.STORE.asString(), store.name);
            this.takeovers = counter(meters, IdempotencyMeterDocumentation.TAKEOVERS, tags,
                    "Idempotent executions that took over the expired lease of an earlier owner");
            this.renewals = counter(meters, IdempotencyMeterDocumentation.RENEWALS, tags,
                    "Lease renewals the idempotency store confirmed");
            this.losses = counter(meters, IdempotencyMeterDocumentation.LEASE_LOSSES, tags,
                    "Leases lost while idempotent work ran");
            this.leaked = counter(meters, IdempotencyMeterDocumentation.LEAKED, tags,
                    "Idempotent executions their caller never finished");
            this.running = LongTaskTimer.builder(IdempotencyMeterDocumentation.RUNNING.getName())
                    .description("Idempotent executions that own their key and whose work is running")
                    .tags(tags)
                    .register(meters);
        }
    }

    private static Counter counter(MeterRegistry meters, IdempotencyMeterDocumentation meter, Tags tags,
            String description) {
        return Counter.builder(meter.getName()).description(description).tags(tags).register(meters);
    }

    @Override
    public ExecutionObservation startExecution() {
        if (root.observing()) {
            IdempotencyExecutionContext context = new IdempotencyExecutionContext(name, store.name);
            Observation observation = IdempotencyObservationDocumentation.EXECUTION.observation(
                    root.executionConvention, DefaultIdempotencyExecutionConvention.INSTANCE, () -> context,
                    root.observations);
            return new ExecutionInstrument(this, observation.start(), context, 0);
        }
        if (root.meters != null) {
            return new ExecutionInstrument(this, null, null, System.nanoTime());
        }
        return NoopObservation.INSTANCE;
    }

    @Override
    public StoreCallObservation storeCall(StoreCall call) {
        return store.call(call, null);
    }

    /** Records a directly timed execution. */
    void record(IdempotencyEvent.Type outcome, @Nullable Throwable recorded, long nanos) {
        timer(outcome, recorded).record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer timer(IdempotencyEvent.Type outcome, @Nullable Throwable recorded) {
        if (recorded != null) {
            return register(outcome, Redaction.tag(recorded));
        }
        Timer timer = timers.get(outcome.ordinal());
        if (timer == null) {
            timer = register(outcome, "none");
            timers.set(outcome.ordinal(), timer);
        }
        return timer;
    }

    private Timer register(IdempotencyEvent.Type outcome, String error) {
        return Timer.builder(DefaultIdempotencyExecutionConvention.NAME)
                .tag(ExecutionKeys.OPERATION.asString(), name)
                .tag(ExecutionKeys.STORE.asString(), store.name)
                .tag(ExecutionKeys.OUTCOME.asString(), DefaultIdempotencyExecutionConvention.outcome(outcome))
                .tag("error", error)
                .register(root.meters);
    }
}
