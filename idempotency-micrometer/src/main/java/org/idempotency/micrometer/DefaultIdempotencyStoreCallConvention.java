package org.idempotency.micrometer;

import io.micrometer.common.KeyValues;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.idempotency.micrometer.IdempotencyObservationDocumentation.StoreCallKeys;
import org.jspecify.annotations.Nullable;

/**
 * The default names and tags of {@code idempotency.store.call} observations: name {@value #NAME}, span name
 * {@code idempotency <call>}, tags {@code call}, {@code store} and, once the call returned or threw,
 * {@code result}. Extend it to add tags. Thread-safe and stateless.
 */
public class DefaultIdempotencyStoreCallConvention implements IdempotencyStoreCallConvention {

    /** The shared instance. */
    public static final DefaultIdempotencyStoreCallConvention INSTANCE = new DefaultIdempotencyStoreCallConvention();

    /** The observation's name, and the name of its timer. */
    public static final String NAME = "idempotency.store.call";

    private static final String[] SPAN_NAMES = new String[StoreCall.values().length];

    static {
        for (StoreCall call : StoreCall.values()) {
            SPAN_NAMES[call.ordinal()] = "idempotency " + call(call);
        }
    }

    /** For subclasses; use {@link #INSTANCE} otherwise. */
    protected DefaultIdempotencyStoreCallConvention() {
    }

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public String getContextualName(IdempotencyStoreCallContext context) {
        return SPAN_NAMES[context.getCall().ordinal()];
    }

    @Override
    public KeyValues getLowCardinalityKeyValues(IdempotencyStoreCallContext context) {
        KeyValues values = KeyValues.of(StoreCallKeys.CALL.withValue(call(context.getCall())),
                StoreCallKeys.STORE.withValue(context.getStore()));
        StoreCallResult result = context.getResult();
        if (result != null) {
            return values.and(StoreCallKeys.RESULT.withValue(result(result)));
        }
        return context.getError() != null ? values.and(StoreCallKeys.RESULT.withValue(result(null))) : values;
    }

    /**
     * The {@code call} tag's value.
     *
     * @param call what is called
     * @return {@code acquire}, {@code acquire-all}, {@code complete}, {@code fail}, {@code release}, {@code extend},
     *     {@code extend-all}, {@code find}, {@code complete-all}, {@code forget} or {@code purge}
     */
    public static String call(StoreCall call) {
        return switch (call) {
            case ACQUIRE -> "acquire";
            case ACQUIRE_ALL -> "acquire-all";
            case COMPLETE -> "complete";
            case FAIL -> "fail";
            case RELEASE -> "release";
            case EXTEND -> "extend";
            case EXTEND_ALL -> "extend-all";
            case FIND -> "find";
            case COMPLETE_ALL -> "complete-all";
            case FORGET -> "forget";
            case PURGE -> "purge";
        };
    }

    /**
     * The {@code result} tag's value.
     *
     * @param result what the call answered, or {@code null} if it threw
     * @return {@code acquired}, {@code taken-over}, {@code existing}, {@code done}, {@code not-owned},
     *     {@code found}, {@code absent}, or {@code error} for a call that threw
     */
    public static String result(@Nullable StoreCallResult result) {
        if (result == null) {
            return "error";
        }
        return switch (result) {
            case ACQUIRED -> "acquired";
            case TAKEN_OVER -> "taken-over";
            case EXISTING -> "existing";
            case DONE -> "done";
            case NOT_OWNED -> "not-owned";
            case FOUND -> "found";
            case ABSENT -> "absent";
        };
    }
}
