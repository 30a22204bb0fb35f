package org.idempotency.micrometer;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.junit.jupiter.api.DisplayName;

@DisplayName("observed outcomes over the in-memory store")
class InMemoryObservedOutcomesTest extends ObservedOutcomesContract {

    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();

    @Override
    protected IdempotencyStore store() {
        return store;
    }

    @Override
    protected String storeTag() {
        return "memory";
    }
}
