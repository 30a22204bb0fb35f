package org.idempotency.micrometer.internal;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.IdempotencyObserver.OperationObserver;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.micrometer.IdempotencyExecutionConvention;
import org.idempotency.micrometer.IdempotencyStoreCallConvention;
import org.jspecify.annotations.Nullable;

/**
 * The state behind one {@code IdempotencyMicrometer}: its registries, its conventions, and the instruments of each
 * store and operation it has seen, created once and kept.
 *
 * <p>Each execution and store call is either observed (an {@code ObservationRegistry} with handlers was given: its
 * handlers make timers and spans) or timed directly (otherwise: the same timers, names and tags, recorded into the
 * {@code MeterRegistry} from meters cached per operation, outcome, call and result). This is Micrometer's own
 * "observation or timer" rule, decided per call, so handlers registered after the engine was built still count.
 *
 * <p>Thread-safe.
 */
public final class Instrumentation {

    final @Nullable ObservationRegistry observations;
    final @Nullable MeterRegistry meters;
    final @Nullable IdempotencyExecutionConvention executionConvention;
    final @Nullable IdempotencyStoreCallConvention storeCallConvention;
    private final @Nullable String storeName;
    private final ConcurrentMap<String, StoreInstruments> stores = new ConcurrentHashMap<>();
    private final ConcurrentMap<OperationKey, OperationInstruments> operations = new ConcurrentHashMap<>();

    /**
     * The instrumentation's state.
     *
     * @param observations where executions and store calls are observed, or {@code null}
     * @param meters where meters are registered, or {@code null}
     * @param executionConvention a convention replacing the default one for executions, or {@code null}
     * @param storeCallConvention a convention replacing the default one for store calls, or {@code null}
     * @param storeName the {@code store} tag of every store, or {@code null} to name each by its class
     */
    public Instrumentation(@Nullable ObservationRegistry observations, @Nullable MeterRegistry meters,
            @Nullable IdempotencyExecutionConvention executionConvention,
            @Nullable IdempotencyStoreCallConvention storeCallConvention, @Nullable String storeName) {
        this.observations = observations;
        this.meters = meters;
        this.executionConvention = executionConvention;
        this.storeCallConvention = storeCallConvention;
        this.storeName = storeName;
    }

    /** Whether calls are observed now: an observation registry with at least one handler was given. */
    boolean observing() {
        ObservationRegistry registry = observations;
        return registry != null && !registry.isNoop();
    }

    /**
     * The observer of one operation over one store, created when the engine first announces it.
     *
     * @param name the operation's name
     * @param store the engine's store
     * @return the observer, the same for the same name and store name
     */
    public OperationObserver operation(String name, IdempotencyStore store) {
        StoreInstruments instruments = store(store);
        return operations.computeIfAbsent(new OperationKey(name, instruments.name),
                key -> new OperationInstruments(this, instruments, name));
    }

    /**
     * A store call that belongs to no execution.
     *
     * @param call what is called
     * @param store the store called
     * @return the started observation of the call
     */
    public StoreCallObservation storeCall(StoreCall call, IdempotencyStore store) {
        return store(store).call(call, null);
    }

    private StoreInstruments store(IdempotencyStore store) {
        String name = storeName != null ? storeName : nameOf(store);
        StoreInstruments instruments = stores.get(name);
        return instruments != null ? instruments
                : stores.computeIfAbsent(name, key -> new StoreInstruments(this, key));
    }

    /**
     * The default {@code store} tag: the class's simple name without {@code IdempotencyStore} or {@code Store}, in
     * lower case ({@code redis}, {@code jdbi}), and {@code memory} for the in-memory store, as the store providers
     * are named.
     *
     * @param store a store
     * @return its tag
     */
    public static String nameOf(IdempotencyStore store) {
        Objects.requireNonNull(store, "store");
        String simple = store.getClass().getSimpleName();
        if (simple.equals("InMemoryIdempotencyStore")) {
            return "memory";
        }
        for (String suffix : new String[] {"IdempotencyStore", "Store"}) {
            if (simple.endsWith(suffix) && simple.length() > suffix.length()) {
                simple = simple.substring(0, simple.length() - suffix.length());
                break;
            }
        }
        return simple.isEmpty() ? "unknown" : simple.toLowerCase(Locale.ROOT);
    }

    private record OperationKey(String operation, String store) {
    }
}
