package org.idempotency.micrometer;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and tags {@code idempotency.store.call} observations. Implement it (or extend
 * {@link DefaultIdempotencyStoreCallConvention}) to change them, and pass it to
 * {@link IdempotencyMicrometer.Builder#storeCallConvention}, or register it on the {@code ObservationRegistry}.
 * Implementations must be thread-safe.
 */
public interface IdempotencyStoreCallConvention extends ObservationConvention<IdempotencyStoreCallContext> {

    @Override
    default boolean supportsContext(Observation.Context context) {
        return context instanceof IdempotencyStoreCallContext;
    }
}
