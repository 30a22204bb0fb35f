package org.idempotency.core;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * The embedded default store: records in a {@link ConcurrentHashMap}, for single-instance services and
 * tests. Every operation is atomic per key; replays of finished records are served without locking.
 *
 * <p>Time comes from an injectable {@link InstantSource}, so tests can move it; it is read in milliseconds. The
 * default ({@link #create()}) is monotonic: it starts at the wall-clock time when the store is created and then
 * advances with {@link System#nanoTime()}, so a step of the wall clock (an NTP correction, a manual change)
 * neither ends leases early nor keeps them alive; the instants in its records may drift from the wall clock by
 * as much as the wall clock was stepped. Fencing tokens come from one counter for the whole store, so they
 * strictly increase for every key and are never reused. Expired records
 * are invisible at once; {@link #purgeExpired()} removes them (the {@link Idempotency} engine schedules it by
 * default), which bounds memory.
 *
 * <p>Thread-safe. Records live only as long as this object: use a shared store (Redis, SQL) when several
 * processes must agree.
 */
public final class InMemoryIdempotencyStore
        implements PurgeableIdempotencyStore, BatchAcquiringIdempotencyStore, BatchExtendingIdempotencyStore,
        BatchCompletingIdempotencyStore, ForgettingIdempotencyStore {

    private final ConcurrentHashMap<String, IdempotencyRecord> records = new ConcurrentHashMap<>();
    private final AtomicLong tokens = new AtomicLong();
    private final InstantSource clock;

    private InMemoryIdempotencyStore(InstantSource clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * A store on a monotonic clock: the wall-clock time at creation, advanced by {@link System#nanoTime()}.
     *
     * @return a new, empty store
     */
    public static InMemoryIdempotencyStore create() {
        return new InMemoryIdempotencyStore(new MonotonicClock());
    }

    /**
     * A store on the given clock (a fixed or manually advanced one in tests).
     *
     * @param clock the clock that decides leases and expiry
     * @return a new, empty store
     */
    public static InMemoryIdempotencyStore withClock(InstantSource clock) {
        return new InMemoryIdempotencyStore(clock);
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        // decides from the key's record as read; a new record is put only if that record is still there
        // (compare-and-set), else the key is read again. No lock, no object but the records and the answer. The
        // time is read after the record, so a lease seen live was live when the record was read.
        IdempotencyRecord current = records.get(key);
        while (true) {
            long nowMillis = clock.millis(); // cheaper than an Instant on the system clock
            if (current == null) {
                long token = tokens.incrementAndGet(); // if another caller puts first, this token is never used
                if (records.putIfAbsent(key, inProgress(key, requestHash, token, nowMillis, lease)) == null) {
                    return new AcquireResult.Acquired(token, false);
                }
                current = records.get(key);
                continue;
            }
            Instant now = Instant.ofEpochMilli(nowMillis);
            boolean takeover;
            if (!now.isBefore(current.expiresAt())) {
                takeover = false; // expired: as if absent
            } else if (current.status() == RecordStatus.IN_PROGRESS && !now.isBefore(current.leaseExpiresAt())
                    && current.matchesRequest(requestHash)) {
                takeover = true; // its lease ended: taken over with its request hash
            } else {
                return new AcquireResult.Existing(current); // a replay, a live lease or a reused key
            }
            long token = tokens.incrementAndGet();
            IdempotencyRecord taken = inProgress(key, takeover ? current.requestHash() : requestHash, token,
                    nowMillis, lease);
            if (records.replace(key, current, taken)) {
                return new AcquireResult.Acquired(token, takeover);
            }
            current = records.get(key);
        }
    }

    /** Acquires each key in turn; in memory there is no round trip to save. */
    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        requireDistinct(requests, AcquireRequest::key, "acquireAll");
        List<AcquireResult> results = new ArrayList<>(requests.size());
        for (AcquireRequest request : requests) {
            results.add(acquire(request.key(), request.requestHash(), lease));
        }
        return results;
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        return replaceOwned(key, fencingToken, (owned, now) -> IdempotencyRecord.completed(key,
                owned.requestHash(), fencingToken, result, now.plus(retention)));
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        return replaceOwned(key, fencingToken, (owned, now) -> IdempotencyRecord.failed(key,
                owned.requestHash(), fencingToken, failure, now.plus(retention)));
    }

    @Override
    public boolean release(String key, long fencingToken) {
        return replaceOwned(key, fencingToken, (owned, now) -> null);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        return replaceOwned(key, fencingToken, (owned, now) -> inProgress(key, owned.requestHash(), fencingToken,
                now, lease));
    }

    /** Extends each lease in turn; in memory there is no round trip to save. */
    @Override
    public List<Boolean> extendAll(List<OwnedKey> keys, Duration lease) {
        requireDistinct(keys, OwnedKey::key, "extendAll");
        List<Boolean> results = new ArrayList<>(keys.size());
        for (OwnedKey owned : keys) {
            results.add(extend(owned.key(), owned.fencingToken(), lease));
        }
        return results;
    }

    /** Completes each record in turn; in memory there is no round trip to save. */
    @Override
    public List<Boolean> completeAll(List<CompleteRequest> completions, Duration retention) {
        requireDistinct(completions, CompleteRequest::key, "completeAll");
        List<Boolean> results = new ArrayList<>(completions.size());
        for (CompleteRequest completion : completions) {
            results.add(complete(completion.key(), completion.fencingToken(), completion.result(), retention));
        }
        return results;
    }

    /** Removes the visible record of the key owned by the token, whatever its status; tokens keep increasing. */
    @Override
    public boolean forget(String key, long fencingToken) {
        Instant now = Instant.ofEpochMilli(clock.millis());
        boolean[] removed = new boolean[1];
        records.computeIfPresent(key, (k, existing) -> {
            if (existing.fencingToken() != fencingToken || !now.isBefore(existing.expiresAt())) {
                return existing;
            }
            removed[0] = true;
            return null;
        });
        return removed[0];
    }

    private static <R> void requireDistinct(List<R> requests, Function<R, String> key, String operation) {
        String repeated = DistinctKeys.firstRepeated(requests, key);
        if (repeated != null) {
            throw new IllegalArgumentException(operation + " needs distinct keys; '"
                    + IdempotencyException.safeKey(repeated) + "' appears twice");
        }
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        IdempotencyRecord record = records.get(key);
        return record != null && clock.millis() < record.expiresAt().toEpochMilli() ? Optional.of(record)
                : Optional.empty();
    }

    @Override
    public long purgeExpired() {
        Instant now = Instant.ofEpochMilli(clock.millis());
        long[] removed = new long[1];
        for (String key : records.keySet()) {
            records.computeIfPresent(key, (k, record) -> {
                if (now.isBefore(record.expiresAt())) {
                    return record;
                }
                removed[0]++;
                return null;
            });
        }
        return removed[0];
    }

    /** The clock this store decides by; for tests. */
    InstantSource clock() {
        return clock;
    }

    /**
     * How many records are held, expired ones not yet purged included. For tests and metrics.
     *
     * @return the number of records in the store
     */
    public int size() {
        return records.size();
    }

    private interface Transition {
        @Nullable IdempotencyRecord apply(IdempotencyRecord owned, Instant now);
    }

    /**
     * Applies a transition to the in-progress record owned by the token; false if not owned or not visible. The
     * record is replaced only if it is still the one read (compare-and-set), else it is read again.
     */
    private boolean replaceOwned(String key, long fencingToken, Transition transition) {
        IdempotencyRecord existing = records.get(key);
        while (true) {
            Instant now = Instant.ofEpochMilli(clock.millis());
            if (existing == null
                    || existing.fencingToken() != fencingToken
                    || existing.status() != RecordStatus.IN_PROGRESS
                    || !now.isBefore(existing.expiresAt())) {
                return false;
            }
            IdempotencyRecord next = transition.apply(existing, now);
            if (next == null ? records.remove(key, existing) : records.replace(key, existing, next)) {
                return true;
            }
            existing = records.get(key);
        }
    }

    private static IdempotencyRecord inProgress(String key, @Nullable String requestHash, long token, long nowMillis,
            Duration lease) {
        return inProgress(key, requestHash, token, Instant.ofEpochMilli(nowMillis), lease);
    }

    private static IdempotencyRecord inProgress(String key, @Nullable String requestHash, long token, Instant now,
            Duration lease) {
        Instant leaseEnd = now.plus(lease);
        return IdempotencyRecord.inProgress(key, requestHash, token, leaseEnd, leaseEnd.plus(lease));
    }
}
