package com.example.store;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.IdempotencyStoreContract;

// tag::store-contract[]
class LockedMapStoreContractTest extends IdempotencyStoreContract {

    @Override
    protected IdempotencyStore createStore() {
        return new LockedMapStore();
    }
}
// end::store-contract[]
