package org.idempotency.testkit;

import java.time.Duration;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The forget contract against the in-memory store, on a manual clock. */
class InMemoryForgetContractTest extends ForgetContract {

    private final ManualClock clock = ManualClock.startingNow();

    @Override
    protected ForgettingIdempotencyStore createStore() {
        return InMemoryIdempotencyStore.withClock(clock);
    }

    @Override
    protected void elapse(Duration duration) {
        clock.advance(duration);
    }
}
