package org.idempotency.micrometer.internal;

import org.idempotency.api.IdempotencyEvent;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.idempotency.core.IdempotencyObserver.Scope;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;

/** What is handed out when there is nowhere to record: neither handlers nor a meter registry. Stateless. */
final class NoopObservation implements ExecutionObservation, StoreCallObservation, Scope {

    static final NoopObservation INSTANCE = new NoopObservation();

    private NoopObservation() {
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
