package org.idempotency.testkit;

import java.time.Duration;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The store contract against the in-memory store, on a manual clock: expiry cases run instantly. */
class InMemoryStoreContractTest extends IdempotencyStoreContract {

    private final ManualClock clock = ManualClock.startingNow();

    @Override
    protected IdempotencyStore createStore() {
        return InMemoryIdempotencyStore.withClock(clock);
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
