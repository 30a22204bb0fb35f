package org.idempotency.spring.boot.actuate;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;

/**
 * The store's health, independent of the Spring Boot version: one {@code find} of a key no record has, timed.
 * The Boot-specific health indicators report it.
 *
 * <p>Thread-safe.
 */
public final class IdempotencyStoreHealth {

    /** The key looked up: in an operation of its own, never written. */
    static final String PROBE_KEY = "idempotency-health:probe";

    private final IdempotencyStore store;

    /**
     * The health of a store.
     *
     * @param store the store
     */
    public IdempotencyStoreHealth(IdempotencyStore store) {
        this.store = Objects.requireNonNull(store, "store must not be null");
    }

    /**
     * Checks the store.
     *
     * @return whether it answered, and details: the store, the time the lookup took, and for the in-memory store
     *     a note that it protects this instance only
     * @throws RuntimeException whatever the store throws, for the indicator to report as down
     */
    public Map<String, Object> check() {
        long start = System.nanoTime();
        store.find(PROBE_KEY);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("store", store.toString());
        details.put("lookup", Duration.ofNanos(System.nanoTime() - start).toString());
        if (store instanceof InMemoryIdempotencyStore) {
            details.put("note", "in memory: protects this instance only");
        }
        return details;
    }
}
