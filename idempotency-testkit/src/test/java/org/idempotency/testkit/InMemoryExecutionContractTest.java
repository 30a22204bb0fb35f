package org.idempotency.testkit;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The execution contract against the in-memory store. */
class InMemoryExecutionContractTest extends IdempotencyExecutionContract {

    @Override
    protected IdempotencyStore createStore() {
        return InMemoryIdempotencyStore.create();
    }
}
