package org.idempotency.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * Wraps a store and makes chosen operations fail or slow down, so error paths (fail closed, fail open, a
 * lost completion, a renewal that cannot reach the store, a purge that takes longer than a lease) can be tested
 * without breaking a real service. It also counts calls per operation, to check that bad input never reaches
 * the store.
 *
 * <pre>{@code
 * FaultInjectingStore store = FaultInjectingStore.wrap(InMemoryIdempotencyStore.create());
 * store.failNext(Operation.COMPLETE, 1);      // the next completion throws IdempotencyStoreException
 * store.failAlways(Operation.EXTEND);         // renewals never reach the store
 * store.delay(Operation.ACQUIRE, Duration.ofMillis(50));
 * store.delay(Operation.EXTEND, Duration.ofSeconds(5), key -> key.endsWith(":slow")); // one key only
 * store.heal();
 * }</pre>
 *
 * <p>The wrapper offers every optional ability of the SPI ({@link PurgeableIdempotencyStore},
 * {@link BatchAcquiringIdempotencyStore}, {@link BatchExtendingIdempotencyStore},
 * {@link BatchCompletingIdempotencyStore}, {@link ForgettingIdempotencyStore}): it passes each call to the
 * wrapped store's own implementation when it has one, and otherwise performs a batch key by key through the
 * wrapped store's single-key methods (the same outcomes), purges nothing, and refuses to forget
 * ({@link UnsupportedOperationException}). Faults and delays set on a
 * single-key operation apply to its batch form too, once per batch: {@code failAlways(EXTEND)} stops every
 * renewal, whether the engine renews one lease or many in one call, and {@code calls(EXTEND)} counts the keys
 * of batches too. Those set on a batch operation ({@code ACQUIRE_ALL}, {@code EXTEND_ALL}, {@code COMPLETE_ALL})
 * apply to it alone.
 *
 * <p>Thread-safe.
 */
public final class FaultInjectingStore
        implements PurgeableIdempotencyStore, BatchAcquiringIdempotencyStore, BatchExtendingIdempotencyStore,
        BatchCompletingIdempotencyStore, ForgettingIdempotencyStore {

    /** The store operations that can be made to fail or be delayed. */
    public enum Operation {
        /** {@link IdempotencyStore#acquire}. */
        ACQUIRE,
        /** {@link IdempotencyStore#complete}. */
        COMPLETE,
        /** {@link IdempotencyStore#fail}. */
        FAIL,
        /** {@link IdempotencyStore#release}. */
        RELEASE,
        /** {@link IdempotencyStore#extend}. */
        EXTEND,
        /** {@link IdempotencyStore#find}. */
        FIND,
        /** {@link BatchAcquiringIdempotencyStore#acquireAll}. */
        ACQUIRE_ALL,
        /** {@link BatchExtendingIdempotencyStore#extendAll}. */
        EXTEND_ALL,
        /** {@link PurgeableIdempotencyStore#purgeExpired}. */
        PURGE,
        /** {@link BatchCompletingIdempotencyStore#completeAll}. */
        COMPLETE_ALL,
        /** {@link ForgettingIdempotencyStore#forget}. */
        FORGET
    }

    private record Delay(Duration duration, Predicate<String> keys) {
    }

    private final IdempotencyStore delegate;
    private final Map<Operation, AtomicInteger> failuresLeft = new EnumMap<>(Operation.class);
    private final Map<Operation, AtomicLong> calls = new EnumMap<>(Operation.class);
    private final Map<Operation, Delay> delays = new ConcurrentHashMap<>();
    private volatile Supplier<? extends RuntimeException> fault =
            () -> new IdempotencyStoreException("Injected store fault", null, null);

    private FaultInjectingStore(IdempotencyStore delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        for (Operation operation : Operation.values()) {
            failuresLeft.put(operation, new AtomicInteger());
            calls.put(operation, new AtomicLong());
        }
    }

    /**
     * Wraps a store; nothing fails until told to.
     *
     * @param delegate the store that answers the calls
     * @return the wrapper
     */
    public static FaultInjectingStore wrap(IdempotencyStore delegate) {
        return new FaultInjectingStore(delegate);
    }

    /**
     * The next {@code times} calls of the operation throw the fault (without reaching the store).
     *
     * @param operation the operation
     * @param times how many calls fail; zero stops failing
     * @return this wrapper
     * @throws IllegalArgumentException if {@code times} is negative
     */
    public FaultInjectingStore failNext(Operation operation, int times) {
        if (times < 0) {
            throw new IllegalArgumentException("times must not be negative, was " + times);
        }
        failuresLeft.get(operation).set(times);
        return this;
    }

    /**
     * Every call of the operation throws the fault until {@link #heal()}.
     *
     * @param operation the operation
     * @return this wrapper
     */
    public FaultInjectingStore failAlways(Operation operation) {
        failuresLeft.get(operation).set(Integer.MAX_VALUE);
        return this;
    }

    /**
     * Each call of the operation waits this long before reaching the store.
     *
     * @param operation the operation
     * @param delay how long; not negative
     * @return this wrapper
     * @throws IllegalArgumentException if {@code delay} is negative
     */
    public FaultInjectingStore delay(Operation operation, Duration delay) {
        return delay(operation, delay, key -> true);
    }

    /**
     * Each call of the operation for a key that {@code keys} accepts waits this long before reaching the store
     * (a slow shard, a slow row). A batch call waits once if any of its keys is accepted; a purge has no key and
     * waits whatever the predicate.
     *
     * @param operation the operation
     * @param delay how long; not negative
     * @param keys which keys are slow
     * @return this wrapper
     * @throws IllegalArgumentException if {@code delay} is negative
     */
    public FaultInjectingStore delay(Operation operation, Duration delay, Predicate<String> keys) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("a delay must not be negative, was " + delay);
        }
        delays.put(operation, new Delay(delay, Objects.requireNonNull(keys, "keys")));
        return this;
    }

    /**
     * What a failing call throws (default: an {@link IdempotencyStoreException} saying "Injected store fault").
     *
     * @param fault makes the exception each failing call throws
     * @return this wrapper
     */
    public FaultInjectingStore faultWith(Supplier<? extends RuntimeException> fault) {
        this.fault = Objects.requireNonNull(fault, "fault");
        return this;
    }

    /**
     * Stops every failure and delay.
     *
     * @return this wrapper
     */
    public FaultInjectingStore heal() {
        failuresLeft.values().forEach(left -> left.set(0));
        delays.clear();
        return this;
    }

    /**
     * How many times the operation was called (failed calls included).
     *
     * @param operation the operation
     * @return the number of calls so far
     */
    public long calls(Operation operation) {
        return calls.get(operation).get();
    }

    /**
     * How many calls were made, all operations together.
     *
     * @return the number of calls so far
     */
    public long totalCalls() {
        long total = 0;
        for (AtomicLong count : calls.values()) {
            total += count.get();
        }
        return total;
    }

    /**
     * The wrapped store.
     *
     * @return the store that answers the calls
     */
    public IdempotencyStore delegate() {
        return delegate;
    }

    private void before(Operation operation, @Nullable String key) {
        calls.get(operation).incrementAndGet();
        Delay delay = delays.get(operation);
        if (delay != null && (key == null || delay.keys().test(key))) {
            sleep(delay.duration());
        }
        injectFault(operation);
    }

    /** A batch call: counts both operations, delays once, fails if either operation is set to fail. */
    private void beforeBatch(Operation batch, Operation single, List<String> keys) {
        calls.get(batch).incrementAndGet();
        calls.get(single).addAndGet(keys.size());
        Delay delay = delays.get(batch);
        if (delay == null || keys.stream().noneMatch(delay.keys())) {
            delay = delays.get(single);
        }
        if (delay != null && keys.stream().anyMatch(delay.keys())) {
            sleep(delay.duration());
        }
        injectFault(batch);
        if (!keys.isEmpty()) {
            injectFault(single);
        }
    }

    private void injectFault(Operation operation) {
        AtomicInteger left = failuresLeft.get(operation);
        if (left.getAndUpdate(n -> n == Integer.MAX_VALUE || n == 0 ? n : n - 1) > 0) {
            throw fault.get();
        }
    }

    private static void sleep(Duration delay) {
        long deadline = System.nanoTime() + delay.toNanos();
        boolean interrupted = false;
        try {
            long left;
            while ((left = deadline - System.nanoTime()) > 0) {
                try {
                    Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true; // a slow store does not answer sooner because its caller was interrupted
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        before(Operation.ACQUIRE, key);
        return delegate.acquire(key, requestHash, lease);
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        before(Operation.COMPLETE, key);
        return delegate.complete(key, fencingToken, result, retention);
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        before(Operation.FAIL, key);
        return delegate.fail(key, fencingToken, failure, retention);
    }

    @Override
    public boolean release(String key, long fencingToken) {
        before(Operation.RELEASE, key);
        return delegate.release(key, fencingToken);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        before(Operation.EXTEND, key);
        return delegate.extend(key, fencingToken, lease);
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        before(Operation.FIND, key);
        return delegate.find(key);
    }

    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        beforeBatch(Operation.ACQUIRE_ALL, Operation.ACQUIRE, requests.stream().map(AcquireRequest::key).toList());
        if (delegate instanceof BatchAcquiringIdempotencyStore batch) {
            return batch.acquireAll(requests, lease);
        }
        requireDistinct(requests.stream().map(AcquireRequest::key).toList(), "acquireAll");
        List<AcquireResult> results = new ArrayList<>(requests.size());
        for (AcquireRequest request : requests) {
            results.add(delegate.acquire(request.key(), request.requestHash(), lease));
        }
        return results;
    }

    @Override
    public List<Boolean> extendAll(List<OwnedKey> keys, Duration lease) {
        beforeBatch(Operation.EXTEND_ALL, Operation.EXTEND, keys.stream().map(OwnedKey::key).toList());
        if (delegate instanceof BatchExtendingIdempotencyStore batch) {
            return batch.extendAll(keys, lease);
        }
        requireDistinct(keys.stream().map(OwnedKey::key).toList(), "extendAll");
        List<Boolean> results = new ArrayList<>(keys.size());
        for (OwnedKey owned : keys) {
            results.add(delegate.extend(owned.key(), owned.fencingToken(), lease));
        }
        return results;
    }

    @Override
    public List<Boolean> completeAll(List<CompleteRequest> completions, Duration retention) {
        beforeBatch(Operation.COMPLETE_ALL, Operation.COMPLETE,
                completions.stream().map(CompleteRequest::key).toList());
        if (delegate instanceof BatchCompletingIdempotencyStore batch) {
            return batch.completeAll(completions, retention);
        }
        requireDistinct(completions.stream().map(CompleteRequest::key).toList(), "completeAll");
        List<Boolean> results = new ArrayList<>(completions.size());
        for (CompleteRequest completion : completions) {
            results.add(delegate.complete(completion.key(), completion.fencingToken(), completion.result(),
                    retention));
        }
        return results;
    }

    /**
     * Passes the call to the wrapped store.
     *
     * @throws UnsupportedOperationException if the wrapped store cannot forget keys
     */
    @Override
    public boolean forget(String key, long fencingToken) {
        before(Operation.FORGET, key);
        if (delegate instanceof ForgettingIdempotencyStore forgetting) {
            return forgetting.forget(key, fencingToken);
        }
        throw new UnsupportedOperationException("The wrapped store " + delegate.getClass().getName()
                + " cannot forget keys");
    }

    @Override
    public long purgeExpired() {
        before(Operation.PURGE, null);
        return delegate instanceof PurgeableIdempotencyStore purgeable ? purgeable.purgeExpired() : 0;
    }

    private static void requireDistinct(List<String> keys, String operation) {
        if (new HashSet<>(keys).size() != keys.size()) {
            throw new IllegalArgumentException(operation + " needs distinct keys; a key appears twice");
        }
    }
}
