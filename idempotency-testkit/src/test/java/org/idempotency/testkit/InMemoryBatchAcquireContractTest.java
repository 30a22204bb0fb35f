package org.idempotency.testkit;

import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The batch-acquire contract against the in-memory store. */
class InMemoryBatchAcquireContractTest extends BatchAcquireContract {

    @Override
    protected BatchAcquiringIdempotencyStore createStore() {
        return InMemoryIdempotencyStore.create();
    }
}
