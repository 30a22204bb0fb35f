package org.idempotency.micrometer.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.observation.Observation;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.idempotency.core.IdempotencyObserver.Scope;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.micrometer.IdempotencyExecutionContext;
import org.jspecify.annotations.Nullable;

/**
 * One execution: an observation of the observation registry (started when the execution starts, stopped when it
 * ends, on whichever thread that is), or a start time for the direct timer; plus the execution's share of the
 * operation's counters and long task timer. Thread-safe: renewal threads report events while the caller runs.
 */
final class ExecutionInstrument implements ExecutionObservation {

    private final OperationInstruments operation;
    /** The observation, when observed; {@code null} when timed directly. */
    private final @Nullable Observation observation;
    private final @Nullable IdempotencyExecutionContext context;
    private final long startNanos;
    private volatile LongTaskTimer.@Nullable Sample running;
    private volatile boolean counted;
    /** Set when the execution ended: a renewal still in flight then no longer nests under its observation. */
    private volatile boolean ended;

    ExecutionInstrument(OperationInstruments operation, @Nullable Observation observation,
            @Nullable IdempotencyExecutionContext context, long startNanos) {
        this.operation = operation;
        this.observation = observation;
        this.context = context;
        this.startNanos = startNanos;
    }

    @Override
    public StoreCallObservation storeCall(StoreCall call) {
        return operation.store.call(call, ended ? null : observation);
    }

    @Override
    public Scope openScope() {
        if (observation == null) {
            return NoopObservation.INSTANCE;
        }
        Observation.Scope scope = observation.openScope();
        return scope::close;
    }

    @Override
    public void event(IdempotencyEvent.Type type) {
        switch (type) {
            case ACQUIRED -> startRunning();
            case TAKEOVER -> {
                startRunning();
                if (context != null) {
                    context.setTakeover(true);
                }
                increment(operation.takeovers);
            }
            case LEASE_RENEWED -> increment(operation.renewals);
            case LEASE_LOST -> increment(operation.losses);
            case LEAKED -> countLeak();
            default -> {
            }
        }
    }

    @Override
    public void end(IdempotencyEvent.Type outcome, @Nullable Throwable error) {
        ended = true;
        LongTaskTimer.Sample sample = running;
        if (sample != null) {
            running = null;
            sample.stop();
        }
        if (outcome == IdempotencyEvent.Type.LEAKED) {
            countLeak();
        }
        Throwable recorded = Redaction.forOutcome(outcome, error);
        if (observation != null) {
            context.setOutcome(outcome);
            if (recorded != null) {
                observation.error(recorded);
            }
            observation.stop();
        } else {
            operation.record(outcome, recorded, System.nanoTime() - startNanos);
        }
    }

    private void startRunning() {
        LongTaskTimer timer = operation.running;
        if (timer != null) {
            running = timer.start();
        }
    }

    /** Counts a leak once, whether it is reported past the maximum execution time, at collection, or both. */
    private void countLeak() {
        if (!counted) {
            counted = true;
            increment(operation.leaked);
        }
    }

    private static void increment(@Nullable Counter counter) {
        if (counter != null) {
            counter.increment();
        }
    }
}
