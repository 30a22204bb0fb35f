package org.idempotency.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.jspecify.annotations.Nullable;

/** The in-memory store, counting single and batch acquires, to see how many round trips a path takes. */
final class CountingBatchStore implements BatchAcquiringIdempotencyStore {

    final InMemoryIdempotencyStore delegate = InMemoryIdempotencyStore.create();
    final AtomicInteger acquires = new AtomicInteger();
    final AtomicInteger batches = new AtomicInteger();

    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        batches.incrementAndGet();
        return delegate.acquireAll(requests, lease);
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        acquires.incrementAndGet();
        return delegate.acquire(key, requestHash, lease);
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        return delegate.complete(key, fencingToken, result, retention);
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
}
