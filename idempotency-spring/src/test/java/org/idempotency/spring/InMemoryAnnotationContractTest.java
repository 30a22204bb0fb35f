package org.idempotency.spring;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/** The execution contract through {@code @Idempotent}, over the in-memory store. */
class InMemoryAnnotationContractTest extends AnnotationExecutionContract {

    @Override
    protected IdempotencyStore createStore() {
        return InMemoryIdempotencyStore.create();
    }
}
