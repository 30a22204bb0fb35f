package org.idempotency.testkit;

import java.time.Duration;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/**
 * The batch-extend contract against the in-memory store, on a manual clock. The store is wrapped in a
 * {@link FaultInjectingStore}, which passes {@code extendAll} to the store's own implementation when it has one
 * and otherwise renews key by key through {@code extend}.
 */
class InMemoryBatchExtendContractTest extends BatchExtendContract {

    private final ManualClock clock = ManualClock.startingNow();

    @Override
    protected BatchExtendingIdempotencyStore createStore() {
        return FaultInjectingStore.wrap(InMemoryIdempotencyStore.withClock(clock));
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
