package org.idempotency.testkit;

import java.time.Duration;
import java.time.Instant;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The batch-acquire contract against the in-memory store, on a manual clock standing years in the past. */
class InMemoryBatchAcquireContractTest extends BatchAcquireContract {

    private final ManualClock clock = ManualClock.at(Instant.parse("1999-12-31T23:59:58Z"));

    @Override
    protected BatchAcquiringIdempotencyStore createStore() {
        return InMemoryIdempotencyStore.withClock(clock);
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
