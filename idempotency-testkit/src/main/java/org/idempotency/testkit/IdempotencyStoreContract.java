package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The store contract: every {@link IdempotencyStore} passes all of it. Extend it, return a store from
 * {@link #createStore()} (called before each test, so fields of the subclass are ready), and every case
 * runs:
 *
 * <pre>{@code
 * class MyStoreContractTest extends IdempotencyStoreContract {
 *     protected IdempotencyStore createStore() {
 *         return new MyStore(...);
 *     }
 * }
 * }</pre>
 *
 * <p>Time: expiry cases call {@link #elapse(Duration)}, which sleeps by default. A store with an
 * injectable clock overrides it to move a {@link ManualClock}, and the cases run instantly. Cases that depend
 * on real time passing poll with a deadline rather than asserting after a bare sleep. Every case uses keys
 * of its own, so a shared server needs no cleaning between tests.
 */
public abstract class IdempotencyStoreContract {

    /** A lease long enough never to expire during a case. */
    protected static final Duration LONG_LEASE = Duration.ofSeconds(60);
    /** A retention long enough never to expire during a case. */
    protected static final Duration LONG_RETENTION = Duration.ofHours(1);
    private static final String HASH = "request-hash-a";
    private static final String OTHER_HASH = "request-hash-b";

    /** The store under test, fresh for each case. */
    protected IdempotencyStore store;

    /** For subclasses. */
    protected IdempotencyStoreContract() {
    }

    /** Returns a store for one case. Called before each case. */
    protected abstract IdempotencyStore createStore();

    /** Lets the store's clock move forward by {@code duration}. The default sleeps; override for a manual clock. */
    protected void elapse(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while letting time pass", e);
        }
    }

    /**
     * The lease used by expiry cases; the cases let one and a half of it pass to expire it. Remote stores with
     * a coarse clock may need a longer one (default 300 ms).
     */
    protected Duration shortLease() {
        return Duration.ofMillis(300);
    }

    /** Releases what {@link #createStore()} opened; the default closes the store if it is AutoCloseable. */
    protected void closeStore(IdempotencyStore store) throws Exception {
        if (store instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    @BeforeEach
    void createStoreForCase() {
        store = createStore();
    }

    @AfterEach
    void closeStoreAfterCase() throws Exception {
        closeStore(store);
    }

    /** A key nobody else uses. */
    protected static String newKey() {
        return "kit:" + UUID.randomUUID();
    }

    private Duration expiredLeasePause() {
        return shortLease().plus(shortLease().dividedBy(2));
    }

    private AcquireResult.Acquired acquireFresh(String key, String hash, Duration lease) {
        AcquireResult result = store.acquire(key, hash, lease);
        assertThat(result).as("acquire of a fresh key").isInstanceOf(AcquireResult.Acquired.class);
        return (AcquireResult.Acquired) result;
    }

    private IdempotencyRecord existing(AcquireResult result) {
        assertThat(result).as("acquire of a held key").isInstanceOf(AcquireResult.Existing.class);
        return ((AcquireResult.Existing) result).record();
    }

    /** Polls until the condition holds, failing after a deadline; for stores whose clock cannot be moved. */
    protected static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after 10 s waiting until " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    @Nested
    @DisplayName("acquiring a fresh key")
    class FreshAcquire {

        @Test
        @DisplayName("creates an in-progress record with a positive fencing token")
        void createsInProgressRecord() {
            String key = newKey();
            AcquireResult.Acquired acquired = acquireFresh(key, HASH, LONG_LEASE);

            assertThat(acquired.fencingToken()).isPositive();
            assertThat(acquired.takeover()).isFalse();
            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.key()).isEqualTo(key);
            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.requestHash()).isEqualTo(HASH);
            assertThat(record.fencingToken()).isEqualTo(acquired.fencingToken());
            assertThat(record.leaseExpiresAt()).isNotNull();
            assertThat(record.expiresAt()).isAfterOrEqualTo(record.leaseExpiresAt());
            assertThat(record.result()).isNull();
            assertThat(record.failure()).isNull();
        }

        @Test
        @DisplayName("sets the lease to end one lease from now and the record to stay one lease longer")
        void leaseAndTakeoverWindow() {
            String key = newKey();
            acquireFresh(key, HASH, LONG_LEASE);

            IdempotencyRecord record = store.find(key).orElseThrow();
            Instant leaseEnd = record.leaseExpiresAt();
            assertThat(leaseEnd).isAfter(Instant.now().plus(LONG_LEASE).minusSeconds(30));
            assertThat(leaseEnd).isBefore(Instant.now().plus(LONG_LEASE).plusSeconds(30));
            assertThat(Duration.between(leaseEnd, record.expiresAt()))
                    .isBetween(LONG_LEASE.minusSeconds(1), LONG_LEASE.plusSeconds(1));
        }

        @Test
        @DisplayName("accepts a null request hash")
        void nullRequestHash() {
            String key = newKey();
            acquireFresh(key, null, LONG_LEASE);

            assertThat(store.find(key).orElseThrow().requestHash()).isNull();
        }

        @Test
        @DisplayName("find of an unknown key is empty")
        void findUnknown() {
            assertThat(store.find(newKey())).isEmpty();
        }
    }

    @Nested
    @DisplayName("a key in progress")
    class InProgress {

        @Test
        @DisplayName("is returned to a second acquire, unchanged")
        void secondAcquireSeesInProgress() {
            String key = newKey();
            AcquireResult.Acquired first = acquireFresh(key, HASH, LONG_LEASE);

            IdempotencyRecord record = existing(store.acquire(key, HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.fencingToken()).isEqualTo(first.fencingToken());
            assertThat(store.find(key).orElseThrow().fencingToken()).isEqualTo(first.fencingToken());
        }

        @Test
        @DisplayName("is returned to an acquire with a null hash, without a takeover")
        void nullHashSeesInProgress() {
            String key = newKey();
            acquireFresh(key, HASH, LONG_LEASE);

            assertThat(existing(store.acquire(key, null, LONG_LEASE)).status()).isEqualTo(RecordStatus.IN_PROGRESS);
        }
    }

    @Nested
    @DisplayName("completing")
    class Completing {

        @Test
        @DisplayName("stores the result, which later acquires replay")
        void completeThenReplay() {
            String key = newKey();
            AcquireResult.Acquired acquired = acquireFresh(key, HASH, LONG_LEASE);
            byte[] payload = "{\"order\":42}".getBytes(StandardCharsets.UTF_8);

            assertThat(store.complete(key, acquired.fencingToken(), new StoredResult(payload, 201), LONG_RETENTION))
                    .isTrue();

            IdempotencyRecord record = existing(store.acquire(key, HASH, LONG_LEASE));
            assertThat(record.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(record.result()).isEqualTo(new StoredResult(payload, 201));
            assertThat(record.requestHash()).isEqualTo(HASH);
            assertThat(record.fencingToken()).isEqualTo(acquired.fencingToken());
            assertThat(record.leaseExpiresAt()).isNull();
            assertThat(record.expiresAt()).isAfter(Instant.now().plus(LONG_RETENTION).minusSeconds(60));
        }

        @Test
        @DisplayName("a result that was not kept is stored as such")
        void notKept() {
            String key = newKey();
            AcquireResult.Acquired acquired = acquireFresh(key, HASH, LONG_LEASE);

            assertThat(store.complete(key, acquired.fencingToken(), StoredResult.notKept(), LONG_RETENTION)).isTrue();

            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(record.result()).isNotNull();
            assertThat(record.result().kept()).isFalse();
        }

        @Test
        @DisplayName("an empty result is kept, and differs from one not kept")
        void emptyResult() {
            String key = newKey();
            AcquireResult.Acquired acquired = acquireFresh(key, HASH, LONG_LEASE);

            assertThat(store.complete(key, acquired.fencingToken(), StoredResult.of(new byte[0]), LONG_RETENTION))
                    .isTrue();

            StoredResult result = store.find(key).orElseThrow().result();
            assertThat(result.kept()).isTrue();
            assertThat(result.payload()).isEmpty();
        }

        @Test
        @DisplayName("a completed record cannot be completed, failed, released or extended again")
        void finishedIsFinal() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            StoredResult first = StoredResult.of(new byte[] {1});
            store.complete(key, token, first, LONG_RETENTION);

            assertThat(store.complete(key, token, StoredResult.of(new byte[] {2}), LONG_RETENTION)).isFalse();
            assertThat(store.fail(key, token, new StoredFailure("x", null), LONG_RETENTION)).isFalse();
            assertThat(store.release(key, token)).isFalse();
            assertThat(store.extend(key, token, LONG_LEASE)).isFalse();
            assertThat(store.find(key).orElseThrow().result()).isEqualTo(first);
        }
    }

    @Nested
    @DisplayName("releasing")
    class Releasing {

        @Test
        @DisplayName("deletes the record so the next acquire gets a larger token")
        void releaseThenReacquire() {
            String key = newKey();
            long first = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(store.release(key, first)).isTrue();
            assertThat(store.find(key)).isEmpty();

            long second = acquireFresh(key, OTHER_HASH, LONG_LEASE).fencingToken();
            assertThat(second).isGreaterThan(first);
            assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo(OTHER_HASH);
        }
    }

    @Nested
    @DisplayName("recording a failure")
    class Failing {

        @Test
        @DisplayName("stores the error type and message, which later acquires see")
        void failureRecorded() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            StoredFailure failure = new StoredFailure("com.example.CardDeclined", "card declined: insufficient funds");

            assertThat(store.fail(key, token, failure, LONG_RETENTION)).isTrue();

            IdempotencyRecord record = existing(store.acquire(key, HASH, LONG_LEASE));
            assertThat(record.status()).isEqualTo(RecordStatus.FAILED);
            assertThat(record.failure()).isEqualTo(failure);
            assertThat(record.result()).isNull();
            assertThat(record.fencingToken()).isEqualTo(token);
        }

        @Test
        @DisplayName("a failure without a message is kept as such")
        void failureWithoutMessage() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            store.fail(key, token, new StoredFailure("java.lang.IllegalStateException", null), LONG_RETENTION);

            assertThat(store.find(key).orElseThrow().failure())
                    .isEqualTo(new StoredFailure("java.lang.IllegalStateException", null));
        }
    }

    @Nested
    @DisplayName("a different request hash")
    class HashMismatch {

        @Test
        @DisplayName("gets the in-progress record back, unchanged")
        void inProgress() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.matchesRequest(OTHER_HASH)).isFalse();
            assertThat(record.fencingToken()).isEqualTo(token);
        }

        @Test
        @DisplayName("gets the completed record back, unchanged")
        void completed() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.complete(key, token, StoredResult.of(new byte[] {7}), LONG_RETENTION);

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(record.matchesRequest(OTHER_HASH)).isFalse();
        }

        @Test
        @DisplayName("gets the failed record back, unchanged")
        void failed() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.fail(key, token, new StoredFailure("E", "m"), LONG_RETENTION);

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.FAILED);
            assertThat(record.matchesRequest(OTHER_HASH)).isFalse();
        }

        @Test
        @DisplayName("does not take over an expired lease")
        void expiredLeaseNotTakenOver() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();
            elapse(expiredLeasePause());

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.fencingToken()).isEqualTo(token);
            assertThat(record.requestHash()).isEqualTo(HASH);
        }
    }

    @Nested
    @DisplayName("an expired lease")
    class Takeover {

        @Test
        @DisplayName("is taken over with a larger token and the original request hash")
        void takeover() {
            String key = newKey();
            long first = acquireFresh(key, HASH, shortLease()).fencingToken();
            elapse(expiredLeasePause());

            AcquireResult.Acquired second = acquireFresh(key, HASH, LONG_LEASE);

            assertThat(second.takeover()).isTrue();
            assertThat(second.fencingToken()).isGreaterThan(first);
            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.fencingToken()).isEqualTo(second.fencingToken());
            assertThat(record.requestHash()).isEqualTo(HASH);
        }

        @Test
        @DisplayName("is taken over by a caller that skips the hash check")
        void takeoverWithNullHash() {
            String key = newKey();
            acquireFresh(key, HASH, shortLease());
            elapse(expiredLeasePause());

            assertThat(acquireFresh(key, null, LONG_LEASE).takeover()).isTrue();
            assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo(HASH);
        }

        @Test
        @DisplayName("is not taken over while it is live")
        void liveLeaseIsKept() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            elapse(expiredLeasePause());

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).fencingToken()).isEqualTo(token);
        }

        @Test
        @DisplayName("can still be completed by its owner while no one has taken it over")
        void ownerMayFinishLate() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();
            elapse(expiredLeasePause());

            assertThat(store.complete(key, token, StoredResult.of(new byte[] {1}), LONG_RETENTION)).isTrue();
            assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }

        @Test
        @DisplayName("is taken over by exactly one of many concurrent callers")
        void oneWinnerAmongConcurrentTakeovers() throws Exception {
            String key = newKey();
            acquireFresh(key, HASH, shortLease());
            elapse(expiredLeasePause());

            List<AcquireResult> results = race(16, () -> store.acquire(key, HASH, LONG_LEASE));

            assertThat(results).filteredOn(r -> r instanceof AcquireResult.Acquired).hasSize(1);
        }

        @Test
        @DisplayName("disappears after the takeover window, and the key starts afresh with a larger token")
        void abandonedRecordDisappears() {
            String key = newKey();
            long first = acquireFresh(key, HASH, shortLease()).fencingToken();
            elapse(shortLease().multipliedBy(2).plus(shortLease().dividedBy(2)));

            eventually("the abandoned in-progress record is invisible", () -> store.find(key).isEmpty());
            AcquireResult.Acquired fresh = acquireFresh(key, OTHER_HASH, LONG_LEASE);
            assertThat(fresh.takeover()).isFalse();
            assertThat(fresh.fencingToken()).isGreaterThan(first);
        }
    }

    @Nested
    @DisplayName("a stale fencing token")
    class StaleTokens {

        @Test
        @DisplayName("cannot complete, fail, release or extend after a takeover")
        void afterTakeover() {
            String key = newKey();
            long stale = acquireFresh(key, HASH, shortLease()).fencingToken();
            elapse(expiredLeasePause());
            long current = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(store.complete(key, stale, StoredResult.of(new byte[] {9}), LONG_RETENTION)).isFalse();
            assertThat(store.fail(key, stale, new StoredFailure("E", null), LONG_RETENTION)).isFalse();
            assertThat(store.release(key, stale)).isFalse();
            assertThat(store.extend(key, stale, LONG_LEASE)).isFalse();

            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.fencingToken()).isEqualTo(current);
        }

        @Test
        @DisplayName("cannot touch a record re-created after a release")
        void afterReleaseAndRecreate() {
            String key = newKey();
            long stale = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.release(key, stale);
            long current = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(current).isGreaterThan(stale);
            assertThat(store.complete(key, stale, StoredResult.of(new byte[] {9}), LONG_RETENTION)).isFalse();
            assertThat(store.fail(key, stale, new StoredFailure("E", null), LONG_RETENTION)).isFalse();
            assertThat(store.release(key, stale)).isFalse();
            assertThat(store.extend(key, stale, LONG_LEASE)).isFalse();
            assertThat(store.find(key).orElseThrow().fencingToken()).isEqualTo(current);
            assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
        }

        @Test
        @DisplayName("cannot touch a record re-created after the old one expired")
        void afterExpiryAndRecreate() {
            String key = newKey();
            long stale = acquireFresh(key, HASH, shortLease()).fencingToken();
            elapse(shortLease().multipliedBy(2).plus(shortLease().dividedBy(2)));
            eventually("the abandoned record is invisible", () -> store.find(key).isEmpty());
            long current = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(current).isGreaterThan(stale);
            assertThat(store.complete(key, stale, StoredResult.of(new byte[] {9}), LONG_RETENTION)).isFalse();
            assertThat(store.extend(key, stale, LONG_LEASE)).isFalse();
            assertThat(store.release(key, stale)).isFalse();
            assertThat(store.find(key).orElseThrow().fencingToken()).isEqualTo(current);
        }

        @Test
        @DisplayName("that was never issued is refused")
        void neverIssued() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(store.complete(key, token + 1_000_000, StoredResult.of(new byte[] {1}), LONG_RETENTION))
                    .isFalse();
            assertThat(store.release(key, token - 1)).isFalse();
            assertThat(store.complete(newKey(), token, StoredResult.of(new byte[] {1}), LONG_RETENTION)).isFalse();
            assertThat(store.extend(newKey(), token, LONG_LEASE)).isFalse();
        }

        @Test
        @DisplayName("tokens keep increasing over many release and re-acquire cycles")
        void tokensIncrease() {
            String key = newKey();
            long previous = 0;
            for (int i = 0; i < 20; i++) {
                long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
                assertThat(token).isGreaterThan(previous);
                assertThat(store.release(key, token)).isTrue();
                previous = token;
            }
        }
    }

    @Nested
    @DisplayName("retention")
    class Retention {

        @Test
        @DisplayName("a completed record disappears after its retention, and the key starts afresh")
        void completedExpires() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.complete(key, token, StoredResult.of(new byte[] {1}), shortLease());
            assertThat(store.find(key)).isPresent();

            elapse(expiredLeasePause());

            eventually("the completed record is invisible", () -> store.find(key).isEmpty());
            AcquireResult.Acquired fresh = acquireFresh(key, OTHER_HASH, LONG_LEASE);
            assertThat(fresh.fencingToken()).isGreaterThan(token);
            assertThat(fresh.takeover()).isFalse();
        }

        @Test
        @DisplayName("a failed record disappears after its retention")
        void failedExpires() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.fail(key, token, new StoredFailure("E", null), shortLease());

            elapse(expiredLeasePause());

            eventually("the failed record is invisible", () -> store.find(key).isEmpty());
            assertThat(store.acquire(key, HASH, LONG_LEASE)).isInstanceOf(AcquireResult.Acquired.class);
        }

        @Test
        @DisplayName("a completed record is kept until its retention ends")
        void completedKept() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();
            store.complete(key, token, StoredResult.of(new byte[] {1}), LONG_RETENTION);

            elapse(shortLease().multipliedBy(3));

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }

    @Nested
    @DisplayName("extending a lease")
    class Extending {

        @Test
        @DisplayName("moves the lease end forward")
        void extendMovesLease() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();
            Instant before = store.find(key).orElseThrow().leaseExpiresAt();

            assertThat(store.extend(key, token, LONG_LEASE)).isTrue();

            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.leaseExpiresAt()).isAfter(before);
            assertThat(record.expiresAt()).isAfterOrEqualTo(record.leaseExpiresAt());
            assertThat(record.fencingToken()).isEqualTo(token);
        }

        @Test
        @DisplayName("keeps the record from being taken over after the original lease")
        void extendPreventsTakeover() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();

            assertThat(store.extend(key, token, LONG_LEASE)).isTrue();
            elapse(expiredLeasePause());

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).fencingToken()).isEqualTo(token);
        }

        @Test
        @DisplayName("is refused for a key that does not exist")
        void extendUnknown() {
            assertThat(store.extend(newKey(), 1, LONG_LEASE)).isFalse();
        }
    }

    @Nested
    @DisplayName("keys")
    class Keys {

        @Test
        @DisplayName("are independent of each other")
        void independent() {
            String a = newKey();
            String b = newKey();
            long tokenA = acquireFresh(a, HASH, LONG_LEASE).fencingToken();
            long tokenB = acquireFresh(b, OTHER_HASH, LONG_LEASE).fencingToken();

            store.complete(a, tokenA, StoredResult.of(new byte[] {1}), LONG_RETENTION);
            store.release(b, tokenB);

            assertThat(store.find(a).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(store.find(b)).isEmpty();
            assertThat(store.complete(b, tokenA, StoredResult.of(new byte[] {2}), LONG_RETENTION)).isFalse();
        }

        @Test
        @DisplayName("that differ only in letter case are different keys")
        void caseSensitive() {
            String key = newKey();
            acquireFresh(key + "-abc", HASH, LONG_LEASE);

            assertThat(store.acquire(key + "-ABC", HASH, LONG_LEASE)).isInstanceOf(AcquireResult.Acquired.class);
        }

        @Test
        @DisplayName("may be unicode up to the byte limit, in 2-, 3- and 4-byte characters")
        void unicodeAtByteLimit() {
            String prefix = "kit:" + UUID.randomUUID().toString().substring(0, 8) + ":";
            for (String unit : List.of("é", "€", "😀")) {
                String key = fill(prefix, unit);
                assertThat(key.getBytes(StandardCharsets.UTF_8)).hasSize(IdempotencyStore.MAX_KEY_BYTES);

                long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
                assertThat(store.complete(key, token, StoredResult.of(unit.getBytes(StandardCharsets.UTF_8)),
                        LONG_RETENTION)).isTrue();
                IdempotencyRecord record = store.find(key).orElseThrow();
                assertThat(record.key()).isEqualTo(key);
                assertThat(record.result().payload()).isEqualTo(unit.getBytes(StandardCharsets.UTF_8));
            }
        }

        @Test
        @DisplayName("with quotes, spaces, colons and wildcard characters are stored as they are")
        void specialCharacters() {
            String key = newKey() + " it's \"quoted\" : * ? % _ \\ [x] {y} ' ; -- /*";
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.complete(key, token, StoredResult.of(new byte[] {5}), LONG_RETENTION);

            assertThat(store.find(key).orElseThrow().key()).isEqualTo(key);
            assertThat(store.find(key.replace('*', 'x'))).isEmpty();
        }

        private String fill(String prefix, String unit) {
            StringBuilder key = new StringBuilder(prefix);
            int unitBytes = unit.getBytes(StandardCharsets.UTF_8).length;
            while (key.toString().getBytes(StandardCharsets.UTF_8).length + unitBytes <= IdempotencyStore.MAX_KEY_BYTES) {
                key.append(unit);
            }
            while (key.toString().getBytes(StandardCharsets.UTF_8).length < IdempotencyStore.MAX_KEY_BYTES) {
                key.append('x');
            }
            return key.toString();
        }
    }

    @Nested
    @DisplayName("results")
    class Results {

        @Test
        @DisplayName("of 1 MiB are stored and returned intact")
        void largeResult() {
            String key = newKey();
            byte[] payload = new byte[1024 * 1024];
            new java.util.Random(42).nextBytes(payload);
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(store.complete(key, token, StoredResult.of(payload), LONG_RETENTION)).isTrue();

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).result().payload()).isEqualTo(payload);
        }

        @Test
        @DisplayName("with every byte value, invalid UTF-8 and zero bytes included, are binary-safe")
        void binaryResult() {
            String key = newKey();
            byte[] payload = new byte[512];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = (byte) i;
            }
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            store.complete(key, token, new StoredResult(payload, 200), LONG_RETENTION);

            assertThat(store.find(key).orElseThrow().result()).isEqualTo(new StoredResult(payload, 200));
        }
    }

    @Nested
    @DisplayName("under concurrency")
    class Concurrency {

        @Test
        @DisplayName("many threads acquiring one key: exactly one wins")
        void oneKeyOneWinner() throws Exception {
            String key = newKey();

            List<AcquireResult> results = race(32, () -> store.acquire(key, HASH, LONG_LEASE));

            assertThat(results).filteredOn(r -> r instanceof AcquireResult.Acquired).hasSize(1);
            long token = ((AcquireResult.Acquired) results.stream()
                    .filter(r -> r instanceof AcquireResult.Acquired).findFirst().orElseThrow()).fencingToken();
            assertThat(results).filteredOn(r -> r instanceof AcquireResult.Existing)
                    .allSatisfy(r -> assertThat(((AcquireResult.Existing) r).record().fencingToken()).isEqualTo(token));
        }

        @Test
        @DisplayName("many keys in parallel: every key is won exactly once")
        void manyKeysExactTotals() throws Exception {
            int threads = 8;
            int keys = 500;
            String prefix = newKey() + ":";
            Set<String> winners = ConcurrentHashMap.newKeySet();
            AtomicInteger acquired = new AtomicInteger();
            AtomicInteger completed = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int offset = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < keys; i++) {
                            String key = prefix + ((i + offset * 61) % keys);
                            AcquireResult result = store.acquire(key, HASH, LONG_LEASE);
                            if (result instanceof AcquireResult.Acquired owned) {
                                acquired.incrementAndGet();
                                winners.add(key);
                                if (store.complete(key, owned.fencingToken(), StoredResult.of(new byte[] {1}),
                                        LONG_RETENTION)) {
                                    completed.incrementAndGet();
                                }
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> future : futures) {
                    future.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }

            assertThat(acquired).hasValue(keys);
            assertThat(completed).hasValue(keys);
            assertThat(winners).hasSize(keys);
        }

        @Test
        @DisplayName("concurrent completions with the same token: the record is completed once")
        void concurrentCompletions() throws Exception {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            AtomicInteger n = new AtomicInteger();

            List<Boolean> results = race(8, () -> store.complete(key, token,
                    StoredResult.of(new byte[] {(byte) n.incrementAndGet()}), LONG_RETENTION));

            assertThat(results).containsOnlyOnce(true);
        }
    }

    @Nested
    @DisplayName("expired records")
    class Purging {

        @Test
        @DisplayName("are invisible to every operation, and purging removes exactly them")
        void purgeRemovesOnlyExpired() {
            String live = newKey();
            long liveToken = acquireFresh(live, HASH, LONG_LEASE).fencingToken();
            store.complete(live, liveToken, StoredResult.of(new byte[] {1}), LONG_RETENTION);
            String running = newKey();
            long runningToken = acquireFresh(running, HASH, LONG_LEASE).fencingToken();
            List<String> expired = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String key = newKey();
                long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
                store.complete(key, token, StoredResult.of(new byte[] {2}), shortLease());
                expired.add(key);
            }
            String abandoned = newKey();
            acquireFresh(abandoned, HASH, shortLease());
            expired.add(abandoned);

            elapse(shortLease().multipliedBy(2).plus(shortLease().dividedBy(2)));
            eventually("every expired record is invisible",
                    () -> expired.stream().allMatch(key -> store.find(key).isEmpty()));

            if (store instanceof PurgeableIdempotencyStore purgeable) {
                assertThat(purgeable.purgeExpired()).as("records purged").isGreaterThanOrEqualTo(expired.size());
                assertThat(purgeable.purgeExpired()).as("a second purge finds nothing of ours").isNotNegative();
            }
            assertThat(store.find(live).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(store.find(running).orElseThrow().fencingToken()).isEqualTo(runningToken);
            for (String key : expired) {
                assertThat(store.find(key)).isEmpty();
                assertThat(store.complete(key, 1, StoredResult.of(new byte[] {3}), LONG_RETENTION)).isFalse();
            }
        }

        @Test
        @DisplayName("purging an empty or fully live store removes nothing it should keep")
        void purgeKeepsLive() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            if (store instanceof PurgeableIdempotencyStore purgeable) {
                purgeable.purgeExpired();
            }

            assertThat(store.find(key).map(IdempotencyRecord::fencingToken)).isEqualTo(Optional.of(token));
        }
    }

    /** Runs the task on {@code threads} threads released at once and collects the results. */
    protected static <T> List<T> race(int threads, java.util.concurrent.Callable<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch ready = new CountDownLatch(threads);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    go.await();
                    return task.call();
                }));
            }
            ready.await();
            go.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                results.add(future.get(60, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
