package org.idempotency.core;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * The in-memory store with every ability the replay cache, completion batches and forget use, counting the calls
 * that reach it; {@link #failCompleteAll} makes batch completions throw.
 */
final class CallCountingStore implements BatchAcquiringIdempotencyStore, BatchCompletingIdempotencyStore,
        ForgettingIdempotencyStore {

    final InMemoryIdempotencyStore delegate;
    final AtomicInteger acquires = new AtomicInteger();
    final AtomicInteger acquireAlls = new AtomicInteger();
    final AtomicInteger acquiredKeys = new AtomicInteger();
    final AtomicInteger completes = new AtomicInteger();
    final AtomicInteger completeAlls = new AtomicInteger();
    final AtomicInteger forgets = new AtomicInteger();
    volatile boolean failCompleteAll;

    CallCountingStore(InMemoryIdempotencyStore delegate) {
        this.delegate = delegate;
    }

    /** Acquire calls, single and batched, and keys acquired in batches: every store call that can replay. */
    int reads() {
        return acquires.get() + acquireAlls.get();
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        acquires.incrementAndGet();
        return delegate.acquire(key, requestHash, lease);
    }

    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        acquireAlls.incrementAndGet();
        acquiredKeys.addAndGet(requests.size());
        return delegate.acquireAll(requests, lease);
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        completes.incrementAndGet();
        return delegate.complete(key, fencingToken, result, retention);
    }

    @Override
    public List<Boolean> completeAll(List<CompleteRequest> completions, Duration retention) {
        completeAlls.incrementAndGet();
        if (failCompleteAll) {
            throw new IdempotencyStoreException("injected fault", null, new IllegalStateException("down"));
        }
        return delegate.completeAll(completions, retention);
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        return delegate.fail(key, fencingToken, failure, retention);
    }

    @Override
    public boolean release(String key, long fencingToken) {
        return delegate.release(key, fencingToken);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        return delegate.extend(key, fencingToken, lease);
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        return delegate.find(key);
    }

    @Override
    public boolean forget(String key, long fencingToken) {
        forgets.incrementAndGet();
        return delegate.forget(key, fencingToken);
    }
}
