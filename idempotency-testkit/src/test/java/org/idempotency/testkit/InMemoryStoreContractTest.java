package org.idempotency.testkit;

import java.time.Duration;
import java.time.Instant;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/**
 * The store contract against the in-memory store, on a manual clock: expiry cases run instantly. The clock
 * stands years away from the machine's, to show that the contract measures against the store's own time.
 */
class InMemoryStoreContractTest extends IdempotencyStoreContract {

    private final ManualClock clock = ManualClock.at(Instant.parse("2041-03-07T10:15:30.123Z"));

    @Override
    protected IdempotencyStore createStore() {
        return InMemoryIdempotencyStore.withClock(clock);
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
