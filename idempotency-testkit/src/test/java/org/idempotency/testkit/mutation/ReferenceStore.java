package org.idempotency.testkit.mutation;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.jspecify.annotations.Nullable;

/**
 * A small correct store, written from the SPI's Javadoc, with every optional ability; and, by {@link Variant}, the
 * same store with one realistic bug. Each bug is marked where it lives ({@code if (is(...))}), so a variant is the
 * correct store changed in one place. The non-atomic variants release the lock between their read and their write
 * and pause there as long as a round trip to a nearby server takes, as a store on a network would.
 *
 * <p>Thread-safe: one lock around a map.
 */
final class ReferenceStore
        implements PurgeableIdempotencyStore, BatchAcquiringIdempotencyStore, BatchExtendingIdempotencyStore {

    /** The pause of a non-atomic variant between its read and its write: a round trip to a nearby server. */
    private static final long ROUND_TRIP_NANOS = 1_000_000;

    private final Variant variant;
    private final InstantSource clock;
    private final Map<String, IdempotencyRecord> records = new HashMap<>();
    /** The last token issued per key, for the variants that count tokens per key. */
    private final Map<String, Long> keyTokens = new HashMap<>();
    private long lastToken;

    ReferenceStore(Variant variant, InstantSource clock) {
        this.variant = Objects.requireNonNull(variant, "variant");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    private boolean is(Variant bug) {
        return variant == bug;
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        if (is(Variant.ACQUIRE_READ_THEN_WRITE)) {
            synchronized (this) {
                IdempotencyRecord current = visible(key, now());
                if (current != null) {
                    return new AcquireResult.Existing(current);
                }
            }
            roundTrip();
            synchronized (this) {
                long token = nextToken(key);
                records.put(key, inProgress(key, requestHash, token, lease));
                return new AcquireResult.Acquired(token, false);
            }
        }
        synchronized (this) {
            return acquireLocked(key, requestHash, lease, false);
        }
    }

    private AcquireResult acquireLocked(String key, @Nullable String requestHash, Duration lease, boolean batch) {
        Instant now = now();
        IdempotencyRecord current = batch && is(Variant.ACQUIRE_ALL_PUT_IF_ABSENT) ? records.get(key)
                : visible(key, now);
        if (current == null) {
            long token = nextToken(key);
            records.put(key, inProgress(key, requestHash, token, lease));
            return new AcquireResult.Acquired(token, false);
        }
        boolean leaseEnded = current.status() == RecordStatus.IN_PROGRESS && !now.isBefore(current.leaseExpiresAt());
        boolean takeover = leaseEnded && hashesMatch(current.requestHash(), requestHash, batch);
        if (batch && (is(Variant.ACQUIRE_ALL_PUT_IF_ABSENT) || is(Variant.ACQUIRE_ALL_NO_TAKEOVER))) {
            takeover = false;
        }
        if (!takeover) {
            return new AcquireResult.Existing(current);
        }
        long token = is(Variant.TAKEOVER_KEEPS_TOKEN) ? current.fencingToken() : nextToken(key);
        records.put(key, inProgress(key, current.requestHash(), token, lease));
        return new AcquireResult.Acquired(token, true);
    }

    private boolean hashesMatch(@Nullable String stored, @Nullable String given, boolean batch) {
        if (batch && is(Variant.ACQUIRE_ALL_IGNORES_HASH)) {
            return true;
        }
        if (is(Variant.NULL_STORED_HASH_BLOCKS_TAKEOVER)) {
            return given == null || Objects.equals(stored, given);
        }
        if (is(Variant.HASH_IGNORES_CASE)) {
            return stored == null || given == null || stored.equalsIgnoreCase(given);
        }
        return IdempotencyRecord.hashesMatch(stored, given);
    }

    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        requireDistinct(requests.stream().map(AcquireRequest::key).toList(), "acquireAll");
        List<AcquireRequest> order = requests;
        if (is(Variant.ACQUIRE_ALL_OUT_OF_ORDER)) {
            order = new ArrayList<>(requests);
            order.sort(Comparator.comparing(AcquireRequest::key));
        }
        List<AcquireResult> results = new ArrayList<>(requests.size());
        synchronized (this) {
            for (AcquireRequest request : order) {
                results.add(acquireLocked(request.key(), request.requestHash(), lease, true));
            }
        }
        return results;
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        return finish(key, fencingToken, Variant.COMPLETE_READ_THEN_WRITE, Variant.COMPLETE_IGNORES_VISIBILITY,
                owned -> IdempotencyRecord.completed(key, owned.requestHash(), fencingToken, result,
                        (is(Variant.RETENTION_BY_CALLER_CLOCK) ? Instant.now() : now()).plus(retention)));
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        StoredFailure kept = failure;
        if (is(Variant.FAILURE_MESSAGE_CUT) && failure.message() != null && failure.message().length() > 1000) {
            kept = new StoredFailure(failure.type(), failure.message().substring(0, 1000));
        }
        if (is(Variant.FAILURE_TYPE_CUT) && failure.type().length() > 128) {
            kept = new StoredFailure(failure.type().substring(0, 128), failure.message());
        }
        StoredFailure stored = kept;
        return finish(key, fencingToken, Variant.FAIL_READ_THEN_WRITE, Variant.FAIL_IGNORES_VISIBILITY,
                owned -> IdempotencyRecord.failed(key, owned.requestHash(), fencingToken, stored, now().plus(retention)));
    }

    @Override
    public boolean release(String key, long fencingToken) {
        return finish(key, fencingToken, Variant.RELEASE_READ_THEN_DELETE, Variant.RELEASE_IGNORES_VISIBILITY,
                owned -> null);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        return finish(key, fencingToken, Variant.EXTEND_READ_THEN_WRITE, Variant.EXTEND_IGNORES_VISIBILITY,
                owned -> inProgress(key, owned.requestHash(), fencingToken, lease));
    }

    @Override
    public List<Boolean> extendAll(List<OwnedKey> keys, Duration lease) {
        if (!is(Variant.EXTEND_ALL_ACCEPTS_DUPLICATES)) {
            requireDistinct(keys.stream().map(OwnedKey::key).toList(), "extendAll");
        }
        List<Boolean> renewed = new ArrayList<>(keys.size());
        for (OwnedKey owned : keys) {
            if (is(Variant.EXTEND_ALL_IGNORES_TOKEN) || is(Variant.EXTEND_ALL_RENEWS_INVISIBLE)
                    || is(Variant.EXTEND_ALL_RENEWS_FINISHED)) {
                renewed.add(extendCarelessly(owned, lease));
            } else {
                renewed.add(extend(owned.key(), owned.fencingToken(), lease));
            }
        }
        return renewed;
    }

    private synchronized boolean extendCarelessly(OwnedKey owned, Duration lease) {
        IdempotencyRecord current = is(Variant.EXTEND_ALL_RENEWS_INVISIBLE) ? records.get(owned.key())
                : visible(owned.key(), now());
        if (current == null
                || (current.status() != RecordStatus.IN_PROGRESS && !is(Variant.EXTEND_ALL_RENEWS_FINISHED))
                || (current.fencingToken() != owned.fencingToken() && !is(Variant.EXTEND_ALL_IGNORES_TOKEN))) {
            return false;
        }
        records.put(owned.key(), inProgress(owned.key(), current.requestHash(), current.fencingToken(), lease));
        return true;
    }

    @Override
    public synchronized Optional<IdempotencyRecord> find(String key) {
        Instant now = now();
        IdempotencyRecord record = visible(key, now);
        if (is(Variant.FIND_HIDES_ENDED_LEASE) && record != null && record.status() == RecordStatus.IN_PROGRESS
                && !now.isBefore(record.leaseExpiresAt())) {
            return Optional.empty();
        }
        return Optional.ofNullable(record);
    }

    @Override
    public synchronized long purgeExpired() {
        Instant now = now();
        List<String> expired = new ArrayList<>();
        records.forEach((key, record) -> {
            boolean leaseEnded = is(Variant.PURGE_AT_LEASE_END) && record.status() == RecordStatus.IN_PROGRESS
                    && !now.isBefore(record.leaseExpiresAt());
            if (leaseEnded || !now.isBefore(record.expiresAt())) {
                expired.add(key);
            }
        });
        for (String key : expired) {
            records.remove(key);
            if (is(Variant.TOKEN_RESET_ON_PURGE)) {
                keyTokens.remove(key);
            }
        }
        return expired.size();
    }

    /** What a finishing call writes over the record it owns; {@code null} deletes it. */
    private interface Transition {
        @Nullable IdempotencyRecord apply(IdempotencyRecord owned);
    }

    /**
     * Applies a transition to the in-progress record the token owns, atomically; the non-atomic bug reads first
     * and writes a round trip later, and the visibility bug accepts a record past its visibility.
     */
    private boolean finish(String key, long token, Variant notAtomic, Variant ignoresVisibility, Transition transition) {
        IdempotencyRecord owned;
        synchronized (this) {
            owned = owned(key, token, is(ignoresVisibility));
            if (owned == null) {
                return false;
            }
            if (!is(notAtomic)) {
                put(key, transition.apply(owned));
                return true;
            }
        }
        roundTrip();
        synchronized (this) {
            put(key, transition.apply(owned));
            return true;
        }
    }

    private void put(String key, @Nullable IdempotencyRecord record) {
        if (record == null) {
            records.remove(key);
        } else {
            records.put(key, record);
        }
    }

    private @Nullable IdempotencyRecord owned(String key, long token, boolean ignoreVisibility) {
        IdempotencyRecord record = ignoreVisibility ? records.get(key) : visible(key, now());
        if (record == null || record.status() != RecordStatus.IN_PROGRESS) {
            return null;
        }
        return record.fencingToken() == token || is(Variant.TOKEN_NOT_CHECKED) ? record : null;
    }

    private @Nullable IdempotencyRecord visible(String key, Instant now) {
        IdempotencyRecord record = records.get(key);
        return record != null && now.isBefore(record.expiresAt()) ? record : null;
    }

    private IdempotencyRecord inProgress(String key, @Nullable String requestHash, long token, Duration lease) {
        Instant leaseEnd = (is(Variant.LEASE_BY_CALLER_CLOCK) ? Instant.now() : now()).plus(lease);
        Instant expiresAt = is(Variant.NO_TAKEOVER_WINDOW) ? leaseEnd : leaseEnd.plus(lease);
        return IdempotencyRecord.inProgress(key, requestHash, token, leaseEnd, expiresAt);
    }

    private long nextToken(String key) {
        if (is(Variant.PER_KEY_TOKENS) || is(Variant.TOKEN_RESET_ON_PURGE)) {
            return keyTokens.merge(key, 1L, Long::sum);
        }
        return ++lastToken;
    }

    private Instant now() {
        return clock.instant();
    }

    private static void roundTrip() {
        LockSupport.parkNanos(ROUND_TRIP_NANOS);
    }

    private static void requireDistinct(List<String> keys, String operation) {
        if (new HashSet<>(keys).size() != keys.size()) {
            throw new IllegalArgumentException(operation + " needs distinct keys; a key appears twice");
        }
    }

    @Override
    public String toString() {
        return "ReferenceStore[" + variant + "]";
    }
}
