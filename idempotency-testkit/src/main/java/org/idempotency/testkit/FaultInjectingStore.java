package org.idempotency.testkit;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * Wraps a store and makes chosen operations fail or slow down, so error paths (fail closed, fail open, a
 * lost completion, a renewal that cannot reach the store) can be tested without breaking a real service.
 * It also counts calls per operation, to check that bad input never reaches the store.
 *
 * <pre>{@code
 * FaultInjectingStore store = FaultInjectingStore.wrap(InMemoryIdempotencyStore.create());
 * store.failNext(Operation.COMPLETE, 1);      // the next completion throws IdempotencyStoreException
 * store.failAlways(Operation.EXTEND);         // renewals never reach the store
 * store.delay(Operation.ACQUIRE, Duration.ofMillis(50));
 * store.heal();
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class FaultInjectingStore implements IdempotencyStore {

    /** The store operations that can be made to fail or be delayed. */
    public enum Operation {
        ACQUIRE, COMPLETE, FAIL, RELEASE, EXTEND, FIND
    }

    private final IdempotencyStore delegate;
    private final Map<Operation, AtomicInteger> failuresLeft = new EnumMap<>(Operation.class);
    private final Map<Operation, AtomicLong> calls = new EnumMap<>(Operation.class);
    private final Map<Operation, Duration> delays = new ConcurrentHashMap<>();
    private volatile Supplier<? extends RuntimeException> fault =
            () -> new IdempotencyStoreException("Injected store fault", null, null);

    private FaultInjectingStore(IdempotencyStore delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        for (Operation operation : Operation.values()) {
            failuresLeft.put(operation, new AtomicInteger());
            calls.put(operation, new AtomicLong());
        }
    }

    /** Wraps a store; nothing fails until told to. */
    public static FaultInjectingStore wrap(IdempotencyStore delegate) {
        return new FaultInjectingStore(delegate);
    }

    /** The next {@code times} calls of the operation throw the fault (without reaching the store). */
    public FaultInjectingStore failNext(Operation operation, int times) {
        if (times < 0) {
            throw new IllegalArgumentException("times must not be negative, was " + times);
        }
        failuresLeft.get(operation).set(times);
        return this;
    }

    /** Every call of the operation throws the fault until {@link #heal()}. */
    public FaultInjectingStore failAlways(Operation operation) {
        failuresLeft.get(operation).set(Integer.MAX_VALUE);
        return this;
    }

    /** Each call of the operation waits this long before reaching the store. */
    public FaultInjectingStore delay(Operation operation, Duration delay) {
        delays.put(operation, Objects.requireNonNull(delay, "delay"));
        return this;
    }

    /** What a failing call throws (default: an {@link IdempotencyStoreException} saying "Injected store fault"). */
    public FaultInjectingStore faultWith(Supplier<? extends RuntimeException> fault) {
        this.fault = Objects.requireNonNull(fault, "fault");
        return this;
    }

    /** Stops every failure and delay. */
    public FaultInjectingStore heal() {
        failuresLeft.values().forEach(left -> left.set(0));
        delays.clear();
        return this;
    }

    /** How many times the operation was called (failed calls included). */
    public long calls(Operation operation) {
        return calls.get(operation).get();
    }

    /** How many calls were made, all operations together. */
    public long totalCalls() {
        long total = 0;
        for (AtomicLong count : calls.values()) {
            total += count.get();
        }
        return total;
    }

    /** The wrapped store. */
    public IdempotencyStore delegate() {
        return delegate;
    }

    private void before(Operation operation) {
        calls.get(operation).incrementAndGet();
        Duration delay = delays.get(operation);
        if (delay != null) {
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        AtomicInteger left = failuresLeft.get(operation);
        if (left.getAndUpdate(n -> n == Integer.MAX_VALUE || n == 0 ? n : n - 1) > 0) {
            throw fault.get();
        }
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        before(Operation.ACQUIRE);
        return delegate.acquire(key, requestHash, lease);
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        before(Operation.COMPLETE);
        return delegate.complete(key, fencingToken, result, retention);
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        before(Operation.FAIL);
        return delegate.fail(key, fencingToken, failure, retention);
    }

    @Override
    public boolean release(String key, long fencingToken) {
        before(Operation.RELEASE);
        return delegate.release(key, fencingToken);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        before(Operation.EXTEND);
        return delegate.extend(key, fencingToken, lease);
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        before(Operation.FIND);
        return delegate.find(key);
    }
}
