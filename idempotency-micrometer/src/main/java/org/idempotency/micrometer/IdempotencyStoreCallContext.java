package org.idempotency.micrometer;

import io.micrometer.observation.Observation;
import java.util.Objects;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;

/**
 * What an {@code idempotency.store.call} observation knows about its store call: what was called, on which store,
 * and once it returned, what it answered. It never holds the key or what was stored.
 *
 * <p>Used by one thread at a time: a store call is started and ended on the thread that makes it.
 */
public class IdempotencyStoreCallContext extends Observation.Context {

    private final StoreCall call;
    private final String store;
    private @Nullable StoreCallResult result;
    private long count;

    /**
     * A context for one store call.
     *
     * @param call what is called
     * @param store the store's name, as in the {@code store} tag
     */
    public IdempotencyStoreCallContext(StoreCall call, String store) {
        this.call = Objects.requireNonNull(call, "call");
        this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * What is called.
     *
     * @return the store call
     */
    public StoreCall getCall() {
        return call;
    }

    /**
     * The store's name.
     *
     * @return the name, as in the {@code store} tag
     */
    public String getStore() {
        return store;
    }

    /**
     * What the call answered.
     *
     * @return the answer; {@code null} while the call runs, and if it threw (see {@link #getError()})
     */
    public @Nullable StoreCallResult getResult() {
        return result;
    }

    /**
     * Sets what the call answered.
     *
     * @param result the answer
     * @param count the records a purge removed, the keys of a batch call, otherwise 1
     */
    public void setResult(StoreCallResult result, long count) {
        this.result = Objects.requireNonNull(result, "result");
        this.count = count;
    }

    /**
     * How many records the call concerned.
     *
     * @return the records a purge removed, or the keys of a batch call; 1 for other calls; 0 until it returns
     */
    public long getCount() {
        return count;
    }
}
