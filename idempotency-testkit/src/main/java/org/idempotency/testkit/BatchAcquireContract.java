package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.junit.jupiter.api.DisplayNameGenerator.IndicativeSentences.SentenceFragment;
import org.junit.jupiter.api.Test;

/**
 * The contract of the optional {@link BatchAcquiringIdempotencyStore} ability, for stores that offer it (in
 * addition to {@link IdempotencyStoreContract}): each outcome of a batch is what a single acquire would have
 * returned, in request order: fresh keys are created, expired leases are taken over (only with a matching
 * request hash), keys whose records are no longer visible start afresh, and everything else comes back
 * unchanged.
 *
 * <pre>{@code
 * class MyStoreBatchAcquireContractTest extends BatchAcquireContract {
 *     protected BatchAcquiringIdempotencyStore createStore() {
 *         return new MyStore(...);
 *     }
 * }
 * }</pre>
 *
 * <p>Time passes as in {@link IdempotencyStoreContract}: override {@link #elapse(Duration)} for a store on a
 * manual clock, or {@link #shortLease()} for a remote store on a loaded machine.
 */
public abstract class BatchAcquireContract extends StoreContractSupport<BatchAcquiringIdempotencyStore> {

    private static final Duration LEASE = LONG_LEASE;
    private static final Duration RETENTION = LONG_RETENTION;

    /** For subclasses. */
    protected BatchAcquireContract() {
    }

    private static String newBatchKey() {
        return "kit-batch:" + UUID.randomUUID();
    }

    /** The end of the takeover window of a key just acquired with {@code lease}, as the SPI promises it. */
    private Instant windowEnd(String key, Duration lease) {
        return store.find(key).orElseThrow(() -> new AssertionError("a record just acquired is not found"))
                .leaseExpiresAt().plus(lease);
    }

    private static AcquireResult.Acquired acquired(AcquireResult result, String what) {
        assertThat(result).as(what).isInstanceOf(AcquireResult.Acquired.class);
        return (AcquireResult.Acquired) result;
    }

    private static IdempotencyRecord held(AcquireResult result, String what) {
        assertThat(result).as(what).isInstanceOf(AcquireResult.Existing.class);
        return ((AcquireResult.Existing) result).record();
    }

    @Test
    @SentenceFragment("a batch of fresh keys is acquired, each with its own record and token, in request order")
    void freshBatch() {
        List<AcquireRequest> requests = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            requests.add(new AcquireRequest(newBatchKey(), "h" + i));
        }

        List<AcquireResult> results = store.acquireAll(requests, LEASE);

        assertThat(results).hasSize(50).allSatisfy(r -> assertThat(r).isInstanceOf(AcquireResult.Acquired.class));
        for (int i = 0; i < 50; i++) {
            AcquireResult.Acquired owned = (AcquireResult.Acquired) results.get(i);
            assertThat(owned.fencingToken()).isPositive();
            assertThat(owned.takeover()).isFalse();
            IdempotencyRecord record = store.find(requests.get(i).key()).orElseThrow();
            assertThat(record.fencingToken()).isEqualTo(owned.fencingToken());
            assertThat(record.requestHash()).isEqualTo("h" + i);
            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
        }
    }

    @Test
    @SentenceFragment("gives every record it creates the requested lease, by the store's clock, and one lease more to stay")
    void batchLease() {
        List<AcquireRequest> requests = List.of(new AcquireRequest(newBatchKey(), "h"),
                new AcquireRequest(newBatchKey(), null));

        Instant before = storeNow();
        store.acquireAll(requests, LEASE);
        Instant after = storeNow();

        for (AcquireRequest request : requests) {
            IdempotencyRecord record = store.find(request.key()).orElseThrow();
            assertThat(record.leaseExpiresAt()).as("lease end, by the store's clock").isBetween(
                    before.plus(LEASE).minusSeconds(2), after.plus(LEASE).plusSeconds(2));
            assertThat(Duration.between(record.leaseExpiresAt(), record.expiresAt()))
                    .isBetween(LEASE.minusSeconds(1), LEASE.plusSeconds(1));
        }
    }

    @Test
    @SentenceFragment("a mixed batch returns each key's own outcome in request order")
    void mixedBatch() {
        String completed = newBatchKey();
        long completedToken = acquireFresh(completed, "h", LEASE).fencingToken();
        store.complete(completed, completedToken, StoredResult.of(new byte[] {42}), RETENTION);
        String running = newBatchKey();
        long runningToken = acquireFresh(running, "h", LEASE).fencingToken();
        String failed = newBatchKey();
        long failedToken = acquireFresh(failed, "h", LEASE).fencingToken();
        store.fail(failed, failedToken, new StoredFailure("E", "declined"), RETENTION);
        String fresh = newBatchKey();

        List<AcquireResult> results = store.acquireAll(List.of(new AcquireRequest(completed, "h"),
                new AcquireRequest(fresh, "h"), new AcquireRequest(running, "other"),
                new AcquireRequest(failed, "h"), new AcquireRequest(running + "-2", null)), LEASE);

        assertThat(results).hasSize(5);
        assertThat(held(results.get(0), "completed").status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(held(results.get(0), "completed").result()).isEqualTo(StoredResult.of(new byte[] {42}));
        assertThat(acquired(results.get(1), "fresh").takeover()).isFalse();
        assertThat(held(results.get(2), "running, other hash").fencingToken()).isEqualTo(runningToken);
        assertThat(held(results.get(2), "running, other hash").matchesRequest("other")).isFalse();
        assertThat(held(results.get(3), "failed").failure()).isEqualTo(new StoredFailure("E", "declined"));
        assertThat(acquired(results.get(4), "fresh, no hash").takeover()).isFalse();
        assertThat(store.find(running).orElseThrow().fencingToken()).isEqualTo(runningToken);
    }

    @Test
    @SentenceFragment("takes over expired leases with a matching or absent request hash, with larger tokens")
    void takesOverExpiredLeases() throws Exception {
        beforeDeadline(() -> {
            String same = newBatchKey();
            String nullGiven = newBatchKey();
            String nullStored = newBatchKey();
            long sameToken = acquireFresh(same, "h", shortLease()).fencingToken();
            long nullGivenToken = acquireFresh(nullGiven, "h", shortLease()).fencingToken();
            long nullStoredToken = acquireFresh(nullStored, null, shortLease()).fencingToken();
            Instant windowEnd = windowEnd(same, shortLease());
            elapse(expiredLeasePause());

            List<AcquireResult> results = store.acquireAll(List.of(new AcquireRequest(same, "h"),
                    new AcquireRequest(nullGiven, null), new AcquireRequest(nullStored, "h")), LEASE);

            return new Deadlined(windowEnd, () -> {
                long[] before = {sameToken, nullGivenToken, nullStoredToken};
                String[] keys = {same, nullGiven, nullStored};
                String[] keptHashes = {"h", "h", null};
                for (int i = 0; i < 3; i++) {
                    AcquireResult.Acquired owned = acquired(results.get(i), "expired lease of " + keys[i]);
                    assertThat(owned.takeover()).as("takeover of request %d", i).isTrue();
                    assertThat(owned.fencingToken()).isGreaterThan(before[i]);
                    IdempotencyRecord record = store.find(keys[i]).orElseThrow();
                    assertThat(record.fencingToken()).isEqualTo(owned.fencingToken());
                    assertThat(record.requestHash()).isEqualTo(keptHashes[i]);
                    assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                }
            });
        });
    }

    @Test
    @SentenceFragment("does not take over an expired lease with a different request hash, even one differing in case")
    void noTakeoverWithDifferentHash() throws Exception {
        beforeDeadline(() -> {
            String other = newBatchKey();
            String upper = newBatchKey();
            long otherToken = acquireFresh(other, "hash-a", shortLease()).fencingToken();
            long upperToken = acquireFresh(upper, "hash-a", shortLease()).fencingToken();
            Instant windowEnd = windowEnd(other, shortLease());
            elapse(expiredLeasePause());

            List<AcquireResult> results = store.acquireAll(List.of(new AcquireRequest(other, "hash-b"),
                    new AcquireRequest(upper, "HASH-A")), LEASE);

            return new Deadlined(windowEnd, () -> {
                assertThat(held(results.get(0), "expired lease, other hash").fencingToken()).isEqualTo(otherToken);
                assertThat(held(results.get(1), "expired lease, hash in upper case").fencingToken())
                        .isEqualTo(upperToken);
                assertThat(held(results.get(1), "expired lease, hash in upper case").requestHash())
                        .isEqualTo("hash-a");
            });
        });
    }

    @Test
    @SentenceFragment("starts afresh, with larger tokens, keys released or whose records are past their visibility")
    void reusesKeysNoLongerVisible() {
        String released = newBatchKey();
        long releasedToken = acquireFresh(released, "h", LEASE).fencingToken();
        store.release(released, releasedToken);
        String completed = newBatchKey();
        long completedToken = acquireFresh(completed, "h", LEASE).fencingToken();
        store.complete(completed, completedToken, StoredResult.of(new byte[] {1}), shortLease());
        String abandoned = newBatchKey();
        long abandonedToken = acquireFresh(abandoned, "h", shortLease()).fencingToken();
        elapse(pastWindowPause());
        eventually("the expired records are invisible",
                () -> store.find(completed).isEmpty() && store.find(abandoned).isEmpty());

        List<AcquireResult> results = store.acquireAll(List.of(new AcquireRequest(released, "new"),
                new AcquireRequest(completed, "new"), new AcquireRequest(abandoned, "new")), LEASE);

        long[] before = {releasedToken, completedToken, abandonedToken};
        String[] keys = {released, completed, abandoned};
        for (int i = 0; i < 3; i++) {
            AcquireResult.Acquired owned = acquired(results.get(i), "a key no longer visible: " + keys[i]);
            assertThat(owned.takeover()).isFalse();
            assertThat(owned.fencingToken()).isGreaterThan(before[i]);
            assertThat(store.find(keys[i]).orElseThrow().requestHash()).isEqualTo("new");
        }
    }

    @Test
    @SentenceFragment("after taking a lease over, only the new token finishes the record; the former owner's is refused")
    void staleTokensAfterBatchTakeover() throws Exception {
        beforeDeadline(() -> {
            String key = newBatchKey();
            long stale = acquireFresh(key, "h", shortLease()).fencingToken();
            Instant windowEnd = windowEnd(key, shortLease());
            elapse(expiredLeasePause());

            AcquireResult result = store.acquireAll(List.of(new AcquireRequest(key, "h")), LEASE).get(0);

            return new Deadlined(windowEnd, () -> {
                long current = acquired(result, "expired lease").fencingToken();
                assertThat(store.complete(key, stale, StoredResult.of(new byte[] {9}), RETENTION)).isFalse();
                assertThat(store.fail(key, stale, new StoredFailure("E", null), RETENTION)).isFalse();
                assertThat(store.release(key, stale)).isFalse();
                assertThat(store.extend(key, stale, LEASE)).isFalse();
                assertThat(store.find(key).orElseThrow().fencingToken()).isEqualTo(current);
                assertThat(store.complete(key, current, StoredResult.of(new byte[] {1}), RETENTION)).isTrue();
            });
        });
    }

    @Test
    @SentenceFragment("a mixed batch with expiry: taken over, started afresh, live and mismatched keys, in request order")
    void mixedBatchWithExpiry() throws Exception {
        beforeDeadline(() -> {
            Duration longer = shortLease().multipliedBy(2);
            String live = newBatchKey();
            long liveToken = acquireFresh(live, "h", LEASE).fencingToken();
            String expired = newBatchKey();
            long expiredToken = acquireFresh(expired, "h", longer).fencingToken();
            String mismatch = newBatchKey();
            long mismatchToken = acquireFresh(mismatch, "h", longer).fencingToken();
            String gone = newBatchKey();
            long goneToken = acquireFresh(gone, "h", shortLease()).fencingToken();
            String fresh = newBatchKey();
            Instant windowEnd = windowEnd(expired, longer);
            // the short lease's record is gone after two of its leases; the longer leases have ended by then
            elapse(shortLease().multipliedBy(2).plus(shortLease().dividedBy(2)));

            List<AcquireResult> results = store.acquireAll(List.of(new AcquireRequest(live, "h"),
                    new AcquireRequest(expired, "h"), new AcquireRequest(fresh, "h"),
                    new AcquireRequest(mismatch, "other"), new AcquireRequest(gone, "other")), LEASE);

            return new Deadlined(windowEnd, () -> {
                assertThat(results).hasSize(5);
                assertThat(held(results.get(0), "live lease").fencingToken()).isEqualTo(liveToken);
                AcquireResult.Acquired takenOver = acquired(results.get(1), "expired lease");
                assertThat(takenOver.takeover()).isTrue();
                assertThat(takenOver.fencingToken()).isGreaterThan(expiredToken);
                assertThat(acquired(results.get(2), "fresh key").takeover()).isFalse();
                assertThat(held(results.get(3), "expired lease, other hash").fencingToken()).isEqualTo(mismatchToken);
                AcquireResult.Acquired restarted = acquired(results.get(4), "record past its takeover window");
                assertThat(restarted.takeover()).isFalse();
                assertThat(restarted.fencingToken()).isGreaterThan(goneToken);
                assertThat(store.find(gone).orElseThrow().requestHash()).isEqualTo("other");
            });
        });
    }

    @Test
    @SentenceFragment("an empty batch returns an empty list")
    void emptyBatch() {
        assertThat(store.acquireAll(List.of(), LEASE)).isEmpty();
    }

    @Test
    @SentenceFragment("a batch with a key twice is refused")
    void duplicateKeys() {
        String key = newBatchKey();

        assertThatThrownBy(() -> store.acquireAll(List.of(new AcquireRequest(key, "h"), new AcquireRequest(key, "h")),
                LEASE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @SentenceFragment("overlapping batches from many threads: every key is won exactly once")
    void concurrentBatches() throws Exception {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            keys.add(newBatchKey());
        }

        assertEachKeyWonOnce(keys, raceBatches(keys));
    }

    @Test
    @SentenceFragment("overlapping batches taking over expired leases from many threads: every key is won exactly once")
    void concurrentBatchTakeovers() throws Exception {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            String key = newBatchKey();
            keys.add(key);
            acquireFresh(key, "h", shortLease());
        }
        elapse(leaseEndPause());

        assertEachKeyWonOnce(keys, raceBatches(keys));
    }

    private ConcurrentHashMap<String, AtomicInteger> raceBatches(List<String> keys) throws Exception {
        ConcurrentHashMap<String, AtomicInteger> wins = new ConcurrentHashMap<>();
        AtomicInteger thread = new AtomicInteger();
        race(8, () -> {
            int offset = thread.getAndIncrement() * 25;
            for (int start = 0; start < keys.size(); start += 40) {
                List<AcquireRequest> batch = new ArrayList<>();
                for (int i = start; i < Math.min(start + 40, keys.size()); i++) {
                    batch.add(new AcquireRequest(keys.get((i + offset) % keys.size()), "h"));
                }
                List<AcquireResult> results = store.acquireAll(batch, LEASE);
                for (int i = 0; i < results.size(); i++) {
                    if (results.get(i) instanceof AcquireResult.Acquired) {
                        wins.computeIfAbsent(batch.get(i).key(), k -> new AtomicInteger()).incrementAndGet();
                    }
                }
            }
            return null;
        });
        return wins;
    }

    private static void assertEachKeyWonOnce(List<String> keys, ConcurrentHashMap<String, AtomicInteger> wins) {
        assertThat(wins).hasSize(keys.size());
        assertThat(wins.values()).allSatisfy(count -> assertThat(count).hasValue(1));
    }
}
