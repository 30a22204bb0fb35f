package org.idempotency.micrometer;

import io.micrometer.observation.Observation;
import java.util.Objects;
import org.idempotency.api.IdempotencyEvent;
import org.jspecify.annotations.Nullable;

/**
 * What an {@code idempotency.execution} observation knows about its execution: the operation, the store, and once
 * it has ended, its outcome. It never holds the key, the request hash or a result. Conventions and observation
 * handlers read it; the instrumentation writes it.
 *
 * <p>Thread-safe: an execution may be ended on another thread than the one that began it.
 */
public class IdempotencyExecutionContext extends Observation.Context {

    private final String operation;
    private final String store;
    private volatile IdempotencyEvent.@Nullable Type outcome;
    private volatile boolean takeover;

    /**
     * A context for one execution.
     *
     * @param operation the operation's name
     * @param store the store's name, as in the {@code store} tag
     */
    public IdempotencyExecutionContext(String operation, String store) {
        this.operation = Objects.requireNonNull(operation, "operation");
        this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * The operation's name.
     *
     * @return the name
     */
    public String getOperation() {
        return operation;
    }

    /**
     * The store's name.
     *
     * @return the name, as in the {@code store} tag
     */
    public String getStore() {
        return store;
    }

    /**
     * How the execution ended.
     *
     * @return one of the outcomes listed on {@link org.idempotency.core.IdempotencyObserver.ExecutionObservation#end},
     *     or {@code null} while the execution runs
     */
    public IdempotencyEvent.@Nullable Type getOutcome() {
        return outcome;
    }

    /**
     * Sets the outcome, before the observation stops.
     *
     * @param outcome how the execution ended
     */
    public void setOutcome(IdempotencyEvent.Type outcome) {
        this.outcome = Objects.requireNonNull(outcome, "outcome");
    }

    /**
     * Whether the execution took over an expired lease of an earlier owner.
     *
     * @return {@code true} if it did
     */
    public boolean isTakeover() {
        return takeover;
    }

    /**
     * Marks the execution as one that took over an expired lease.
     *
     * @param takeover whether it did
     */
    public void setTakeover(boolean takeover) {
        this.takeover = takeover;
    }
}
