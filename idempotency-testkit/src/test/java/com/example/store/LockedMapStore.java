package com.example.store;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * A store as a third party would write one against the SPI alone: one lock around a map, the system clock.
 * It shows what the contract kit asks of a store; the guide's "implement your own store" guide uses it.
 */
public final class LockedMapStore implements IdempotencyStore {

    private final Map<String, IdempotencyRecord> records = new HashMap<>();
    private long lastToken;

    @Override
    public synchronized AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        Instant now = Instant.now();
        IdempotencyRecord existing = visible(key, now);
        boolean takeover = existing != null && existing.status() == RecordStatus.IN_PROGRESS
                && !now.isBefore(existing.leaseExpiresAt()) && existing.matchesRequest(requestHash);
        if (existing != null && !takeover) {
            return new AcquireResult.Existing(existing);
        }
        long token = ++lastToken; // one counter for all keys: tokens never repeat
        String hash = takeover ? existing.requestHash() : requestHash;
        records.put(key, IdempotencyRecord.inProgress(key, hash, token, now.plus(lease), now.plus(lease).plus(lease)));
        return new AcquireResult.Acquired(token, takeover);
    }

    @Override
    public synchronized boolean complete(String key, long token, StoredResult result, Duration retention) {
        IdempotencyRecord owned = owned(key, token);
        if (owned == null) {
            return false;
        }
        records.put(key, IdempotencyRecord.completed(key, owned.requestHash(), token, result,
                Instant.now().plus(retention)));
        return true;
    }

    @Override
    public synchronized boolean fail(String key, long token, StoredFailure failure, Duration retention) {
        IdempotencyRecord owned = owned(key, token);
        if (owned == null) {
            return false;
        }
        records.put(key, IdempotencyRecord.failed(key, owned.requestHash(), token, failure,
                Instant.now().plus(retention)));
        return true;
    }

    @Override
    public synchronized boolean release(String key, long token) {
        return owned(key, token) != null && records.remove(key) != null;
    }

    @Override
    public synchronized boolean extend(String key, long token, Duration lease) {
        IdempotencyRecord owned = owned(key, token);
        if (owned == null) {
            return false;
        }
        Instant leaseEnd = Instant.now().plus(lease);
        records.put(key, IdempotencyRecord.inProgress(key, owned.requestHash(), token, leaseEnd, leaseEnd.plus(lease)));
        return true;
    }

    @Override
    public synchronized Optional<IdempotencyRecord> find(String key) {
        return Optional.ofNullable(visible(key, Instant.now()));
    }

    private @Nullable IdempotencyRecord owned(String key, long token) {
        IdempotencyRecord record = visible(key, Instant.now());
        return record != null && record.status() == RecordStatus.IN_PROGRESS && record.fencingToken() == token
                ? record : null;
    }

    private @Nullable IdempotencyRecord visible(String key, Instant now) {
        IdempotencyRecord record = records.get(key);
        if (record != null && !now.isBefore(record.expiresAt())) {
            records.remove(key); // expired records are invisible, and this one is also dropped
            return null;
        }
        return record;
    }
}
