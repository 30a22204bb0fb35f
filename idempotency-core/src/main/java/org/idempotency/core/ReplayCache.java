package org.idempotency.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.jspecify.annotations.Nullable;

/**
 * This node's cache of finished records (completed or failed), which are immutable until they expire, so that a
 * replay seen once here is answered without a store call. Keyed by stored key; bounded by entries and by bytes
 * (payload, failure text and key, plus a fixed overhead per entry), least recently used evicted first.
 *
 * <p><b>Expiry.</b> An entry ends at a deadline on this process's monotonic clock, never later than the record it
 * holds: for a record this node completed, one retention after the completion call was sent (the store counts
 * the retention from when it ran the call, which is later); for a record read from the store, the record's
 * {@code expiresAt} (by the store's clock) less this node's wall-clock time when the answer arrived, less the
 * allowed clock difference between the store and this node. Either is cut to the configured maximum age, which
 * also bounds how long a key forgotten on another node may still be replayed here.
 *
 * <p>Why not Caffeine: the cache is bounded by entries and by bytes at once, which Caffeine's size and weight
 * bounds cannot both be (they are exclusive), and the core keeps no dependency for an opt-in feature. The cache
 * holds one lock per call for a few map operations, never while calling out.
 *
 * <p>Thread-safe.
 */
final class ReplayCache {

    /** What an entry costs besides its payload, failure text and key: the entry, the record and the map node. */
    static final int ENTRY_OVERHEAD_BYTES = 160;

    private final int maxEntries;
    private final long maxBytes;
    private final long maxAgeNanos;
    private final long clockSkewNanos;
    private final LongSupplier nanoTime;
    private final ReentrantLock lock = new ReentrantLock();
    /** Access-ordered: the eldest entry is the least recently used. Guarded by {@link #lock}. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);
    /** Guarded by {@link #lock}. */
    private long bytes;

    private record Entry(IdempotencyRecord record, long deadlineNanos, int weight) {
    }

    ReplayCache(int maxEntries, long maxBytes, Duration maxAge, Duration clockSkew, LongSupplier nanoTime) {
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.maxAgeNanos = maxAge.toNanos();
        this.clockSkewNanos = clockSkew.toNanos();
        this.nanoTime = nanoTime;
    }

    /** The longest an entry lives, and so the longest a forgotten key may be replayed by another node's cache. */
    Duration maxAge() {
        return Duration.ofNanos(maxAgeNanos);
    }

    /** The cached record of a key, or {@code null} if there is none or it reached its deadline (then removed). */
    @Nullable IdempotencyRecord get(String storedKey) {
        lock.lock();
        try {
            Entry entry = entries.get(storedKey);
            if (entry == null) {
                return null;
            }
            if (nanoTime.getAsLong() - entry.deadlineNanos >= 0) {
                remove(storedKey);
                return null;
            }
            return entry.record;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Keeps a finished record read from the store, for its remaining lifetime as this node can be sure of it: its
     * {@code expiresAt} less this node's wall-clock time now, less the allowed clock difference.
     */
    void putRead(IdempotencyRecord record) {
        if (record.status() == RecordStatus.IN_PROGRESS) {
            return;
        }
        long now = nanoTime.getAsLong();
        Duration sure = Duration.between(Instant.now(), record.expiresAt()).minusNanos(clockSkewNanos);
        put(record, now, sure.compareTo(maxAge()) >= 0 ? maxAgeNanos : sure.toNanos());
    }

    /**
     * Keeps a record this node finished: it lives {@code retention} from when the finishing call was sent
     * ({@code sentNanos}), by the store's clock; this node counts from the send, which is earlier.
     */
    void putFinished(IdempotencyRecord record, long sentNanos, Duration retention) {
        long now = nanoTime.getAsLong();
        long retentionNanos = retention.toNanos();
        put(record, now, Math.min(maxAgeNanos, retentionNanos - (now - sentNanos)));
    }

    private void put(IdempotencyRecord record, long now, long lifetimeNanos) {
        long lifetime = Math.min(lifetimeNanos, maxAgeNanos);
        if (lifetime <= 0) {
            return;
        }
        int weight = weight(record);
        if (weight > maxBytes) {
            return;
        }
        Entry entry = new Entry(record, now + lifetime, weight);
        lock.lock();
        try {
            Entry previous = entries.put(record.key(), entry);
            if (previous != null) {
                bytes -= previous.weight;
            }
            bytes += weight;
            Iterator<Map.Entry<String, Entry>> eldest = entries.entrySet().iterator();
            while ((entries.size() > maxEntries || bytes > maxBytes) && eldest.hasNext()) {
                Entry evicted = eldest.next().getValue();
                eldest.remove();
                bytes -= evicted.weight;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Drops a key's entry, if any. */
    void invalidate(String storedKey) {
        lock.lock();
        try {
            remove(storedKey);
        } finally {
            lock.unlock();
        }
    }

    private void remove(String storedKey) {
        Entry removed = entries.remove(storedKey);
        if (removed != null) {
            bytes -= removed.weight;
        }
    }

    /** How many entries are held (expired ones not yet met included). */
    int size() {
        lock.lock();
        try {
            return entries.size();
        } finally {
            lock.unlock();
        }
    }

    /** How many bytes the held entries are counted as. */
    long bytes() {
        lock.lock();
        try {
            return bytes;
        } finally {
            lock.unlock();
        }
    }

    /** What an entry is counted as: its payload, failure text, key and hash (two bytes a char), and the overhead. */
    static int weight(IdempotencyRecord record) {
        long weight = ENTRY_OVERHEAD_BYTES + 2L * record.key().length();
        if (record.requestHash() != null) {
            weight += 2L * record.requestHash().length();
        }
        StoredResult result = record.result();
        if (result != null && result.payload() != null) {
            weight += result.payload().length;
        }
        StoredFailure failure = record.failure();
        if (failure != null) {
            weight += 2L * failure.type().length() + (failure.message() == null ? 0 : 2L * failure.message().length());
        }
        return (int) Math.min(Integer.MAX_VALUE, weight);
    }
}
