package org.idempotency.core.internal;

import java.util.Set;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.IdempotencyStoreProvider;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.InMemoryIdempotencyStore;

/** Discovers the in-memory store as provider {@code memory}. It takes no settings. */
public final class InMemoryStoreProvider implements IdempotencyStoreProvider {

    public InMemoryStoreProvider() {
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public IdempotencyStore create(ProviderSettings settings) {
        settings.rejectUnknown("idempotency.memory.", Set.of());
        return InMemoryIdempotencyStore.create();
    }
}
