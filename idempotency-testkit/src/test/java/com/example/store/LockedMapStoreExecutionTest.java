package com.example.store;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.IdempotencyExecutionContract;

// tag::execution-contract[]
class LockedMapStoreExecutionTest extends IdempotencyExecutionContract {

    @Override
    protected IdempotencyStore createStore() {
        return new LockedMapStore();
    }
}
// end::execution-contract[]
