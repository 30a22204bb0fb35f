package org.idempotency.testkit;

import java.time.Duration;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The batch-complete contract against the in-memory store, on a manual clock. */
class InMemoryBatchCompleteContractTest extends BatchCompleteContract {

    private final ManualClock clock = ManualClock.startingNow();

    @Override
    protected BatchCompletingIdempotencyStore createStore() {
        return InMemoryIdempotencyStore.withClock(clock);
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
