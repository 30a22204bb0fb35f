package org.idempotency.micrometer;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and tags {@code idempotency.execution} observations. Implement it (or extend
 * {@link DefaultIdempotencyExecutionConvention}) to change them, and pass it to
 * {@link IdempotencyMicrometer.Builder#executionConvention}, or register it on the {@code ObservationRegistry}.
 * Implementations must be thread-safe and must not put keys, hashes or bodies into tags: the context holds none.
 */
public interface IdempotencyExecutionConvention extends ObservationConvention<IdempotencyExecutionContext> {

    @Override
    default boolean supportsContext(Observation.Context context) {
        return context instanceof IdempotencyExecutionContext;
    }
}
