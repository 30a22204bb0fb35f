package org.idempotency.micrometer;

import io.micrometer.common.KeyValues;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.micrometer.IdempotencyObservationDocumentation.ExecutionKeys;
import org.idempotency.micrometer.IdempotencyObservationDocumentation.ExecutionSpanKeys;
import org.jspecify.annotations.Nullable;

/**
 * The default names and tags of {@code idempotency.execution} observations: name {@value #NAME}, span name
 * {@code idempotency <operation>}, tags {@code operation}, {@code store} and, once ended, {@code outcome}.
 * Extend it to add tags. Thread-safe and stateless.
 */
public class DefaultIdempotencyExecutionConvention implements IdempotencyExecutionConvention {

    /** The shared instance. */
    public static final DefaultIdempotencyExecutionConvention INSTANCE = new DefaultIdempotencyExecutionConvention();

    /** The observation's name, and the name of its timer. */
    public static final String NAME = "idempotency.execution";

    private static final KeyValues TAKEOVER = KeyValues.of(ExecutionSpanKeys.TAKEOVER.withValue("true"));

    /** For subclasses; use {@link #INSTANCE} otherwise. */
    protected DefaultIdempotencyExecutionConvention() {
    }

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public String getContextualName(IdempotencyExecutionContext context) {
        return "idempotency " + context.getOperation();
    }

    @Override
    public KeyValues getLowCardinalityKeyValues(IdempotencyExecutionContext context) {
        IdempotencyEvent.Type outcome = context.getOutcome();
        KeyValues values = KeyValues.of(ExecutionKeys.OPERATION.withValue(context.getOperation()),
                ExecutionKeys.STORE.withValue(context.getStore()));
        return outcome == null ? values : values.and(ExecutionKeys.OUTCOME.withValue(outcome(outcome)));
    }

    @Override
    public KeyValues getHighCardinalityKeyValues(IdempotencyExecutionContext context) {
        return context.isTakeover() ? TAKEOVER : KeyValues.empty();
    }

    /**
     * The {@code outcome} tag's value for how an execution ended.
     *
     * @param outcome how it ended
     * @return {@code executed}, {@code replayed}, {@code in-progress}, {@code key-reused},
     *     {@code failure-recorded}, {@code failure-replayed}, {@code released}, {@code not-kept},
     *     {@code store-error}, {@code unprotected}, {@code lease-lost}, {@code leaked}, or {@code unknown} for a type
     *     that is not an outcome
     */
    public static String outcome(IdempotencyEvent.@Nullable Type outcome) {
        if (outcome == null) {
            return "unknown";
        }
        return switch (outcome) {
            case COMPLETED -> "executed";
            case REPLAYED -> "replayed";
            case IN_PROGRESS -> "in-progress";
            case KEY_REUSED -> "key-reused";
            case FAILURE_RECORDED -> "failure-recorded";
            case FAILURE_REPLAYED -> "failure-replayed";
            case RELEASED -> "released";
            case RESULT_NOT_KEPT -> "not-kept";
            case STORE_ERROR -> "store-error";
            case UNPROTECTED -> "unprotected";
            case LEASE_LOST -> "lease-lost";
            case LEAKED -> "leaked";
            default -> "unknown";
        };
    }
}
