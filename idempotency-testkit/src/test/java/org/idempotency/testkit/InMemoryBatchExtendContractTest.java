package org.idempotency.testkit;

import java.time.Duration;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The batch-extend contract against the in-memory store, on a manual clock. */
class InMemoryBatchExtendContractTest extends BatchExtendContract {

    private final ManualClock clock = ManualClock.startingNow();

    @Override
    protected BatchExtendingIdempotencyStore createStore() {
        return InMemoryIdempotencyStore.withClock(clock);
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
