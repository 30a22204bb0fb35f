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
import org.junit.jupiter.api.DisplayNameGenerator.IndicativeSentences.SentenceFragment;
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
 * <p>Each rule of the {@link IdempotencyStore} Javadoc is checked by at least one case, written as the
 * behaviour the SPI promises. Races (a renewal against a completion, a late release against a takeover) are
 * run {@value RacingPair#ROUNDS} times each with varying head starts, so a store that reads in one round trip
 * and writes in another loses one of them in every run.
 *
 * <p>Time: expiry cases call {@link #elapse(Duration)}, which sleeps by default. A store with an
 * injectable clock overrides it to move a {@link ManualClock}, and the cases run instantly; the store's clock
 * may stand at any instant, since cases measure against {@link #storeNow() the store's own time}. Cases that
 * depend on real time passing poll with a deadline rather than asserting after a bare sleep. Every case uses
 * keys of its own, so a shared server needs no cleaning between tests.
 */
public abstract class IdempotencyStoreContract extends StoreContractSupport<IdempotencyStore> {

    private static final String HASH = "request-hash-a";
    private static final String OTHER_HASH = "request-hash-b";
    /** Tolerance for comparing store times derived in two ways, for stores that keep coarse timestamps. */
    private static final Duration CLOCK_TOLERANCE = Duration.ofSeconds(2);

    /** For subclasses. */
    protected IdempotencyStoreContract() {
    }

    /** The store's time by a lease: a probe acquired with a known lease reports when it was acquired. */
    private Instant storeNowByLease() {
        String probe = "kit-clock:" + UUID.randomUUID();
        long token = acquireFresh(probe, null, LONG_LEASE).fencingToken();
        Instant leaseEnd = store.find(probe).orElseThrow(
                () -> new AssertionError("a probe record just acquired is not found")).leaseExpiresAt();
        store.release(probe, token);
        return leaseEnd.minus(LONG_LEASE);
    }

    @Nested
    @SentenceFragment("acquiring a fresh key")
    class FreshAcquire {

        @Test
        @SentenceFragment("creates an in-progress record with a positive fencing token")
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
        @SentenceFragment("sets the lease to end one lease from now and the record to stay one lease longer")
        void leaseAndTakeoverWindow() {
            String key = newKey();
            Instant before = storeNow();
            acquireFresh(key, HASH, LONG_LEASE);
            Instant after = storeNow();

            IdempotencyRecord record = store.find(key).orElseThrow();
            Instant leaseEnd = record.leaseExpiresAt();
            assertThat(leaseEnd).as("lease end, by the store's clock")
                    .isBetween(before.plus(LONG_LEASE).minus(CLOCK_TOLERANCE), after.plus(LONG_LEASE).plus(CLOCK_TOLERANCE));
            assertThat(Duration.between(leaseEnd, record.expiresAt()))
                    .isBetween(LONG_LEASE.minusSeconds(1), LONG_LEASE.plusSeconds(1));
        }

        @Test
        @SentenceFragment("accepts a null request hash")
        void nullRequestHash() {
            String key = newKey();
            acquireFresh(key, null, LONG_LEASE);

            assertThat(store.find(key).orElseThrow().requestHash()).isNull();
        }

        @Test
        @SentenceFragment("find of an unknown key is empty")
        void findUnknown() {
            assertThat(store.find(newKey())).isEmpty();
        }
    }

    @Nested
    @SentenceFragment("a key in progress")
    class InProgress {

        @Test
        @SentenceFragment("is returned to a second acquire, unchanged")
        void secondAcquireSeesInProgress() {
            String key = newKey();
            AcquireResult.Acquired first = acquireFresh(key, HASH, LONG_LEASE);

            IdempotencyRecord record = existing(store.acquire(key, HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.fencingToken()).isEqualTo(first.fencingToken());
            assertThat(store.find(key).orElseThrow().fencingToken()).isEqualTo(first.fencingToken());
        }

        @Test
        @SentenceFragment("is returned to an acquire with a null hash, without a takeover")
        void nullHashSeesInProgress() {
            String key = newKey();
            acquireFresh(key, HASH, LONG_LEASE);

            assertThat(existing(store.acquire(key, null, LONG_LEASE)).status()).isEqualTo(RecordStatus.IN_PROGRESS);
        }
    }

    @Nested
    @SentenceFragment("completing")
    class Completing {

        @Test
        @SentenceFragment("stores the result, which later acquires replay")
        void completeThenReplay() {
            String key = newKey();
            AcquireResult.Acquired acquired = acquireFresh(key, HASH, LONG_LEASE);
            byte[] payload = "{\"order\":42}".getBytes(StandardCharsets.UTF_8);

            Instant before = storeNowByLease();
            assertThat(store.complete(key, acquired.fencingToken(), new StoredResult(payload, 201), LONG_RETENTION))
                    .isTrue();
            Instant after = storeNowByLease();

            IdempotencyRecord record = existing(store.acquire(key, HASH, LONG_LEASE));
            assertThat(record.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(record.result()).isEqualTo(new StoredResult(payload, 201));
            assertThat(record.requestHash()).isEqualTo(HASH);
            assertThat(record.fencingToken()).isEqualTo(acquired.fencingToken());
            assertThat(record.leaseExpiresAt()).isNull();
            assertThat(record.expiresAt()).as("end of retention, by the store's clock").isBetween(
                    before.plus(LONG_RETENTION).minus(CLOCK_TOLERANCE), after.plus(LONG_RETENTION).plus(CLOCK_TOLERANCE));
        }

        @Test
        @SentenceFragment("a result that was not kept is stored as such")
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
        @SentenceFragment("an empty result is kept, and differs from one not kept")
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
        @SentenceFragment("a completed record cannot be completed, failed, released or extended again")
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
    @SentenceFragment("releasing")
    class Releasing {

        @Test
        @SentenceFragment("deletes the record so the next acquire gets a larger token")
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
    @SentenceFragment("recording a failure")
    class Failing {

        @Test
        @SentenceFragment("stores the error type and message, which later acquires see")
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
        @SentenceFragment("a failure without a message is kept as such")
        void failureWithoutMessage() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            store.fail(key, token, new StoredFailure("java.lang.IllegalStateException", null), LONG_RETENTION);

            assertThat(store.find(key).orElseThrow().failure())
                    .isEqualTo(new StoredFailure("java.lang.IllegalStateException", null));
        }

        @Test
        @SentenceFragment("keeps a type and a message of the longest lengths StoredFailure allows, whole")
        void longestFailureKeptWhole() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            String type = fill("com.example.", "Declined$", StoredFailure.MAX_TYPE_LENGTH);
            String message = fill("card declined: ", "Zahlung abgelehnt – carte refusée, 残高不足; ",
                    StoredFailure.MAX_MESSAGE_LENGTH);
            StoredFailure failure = new StoredFailure(type, message);

            assertThat(store.fail(key, token, failure, LONG_RETENTION)).isTrue();

            StoredFailure stored = store.find(key).orElseThrow().failure();
            assertThat(stored.type()).hasSize(StoredFailure.MAX_TYPE_LENGTH).isEqualTo(type);
            assertThat(stored.message()).hasSize(StoredFailure.MAX_MESSAGE_LENGTH).isEqualTo(message);
        }

        @Test
        @SentenceFragment("a failed record cannot be completed, failed, released or extended again")
        void failedIsFinal() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            StoredFailure failure = new StoredFailure("E", "first");
            store.fail(key, token, failure, LONG_RETENTION);

            assertThat(store.complete(key, token, StoredResult.of(new byte[] {2}), LONG_RETENTION)).isFalse();
            assertThat(store.fail(key, token, new StoredFailure("E", "second"), LONG_RETENTION)).isFalse();
            assertThat(store.release(key, token)).isFalse();
            assertThat(store.extend(key, token, LONG_LEASE)).isFalse();
            assertThat(store.find(key).orElseThrow().failure()).isEqualTo(failure);
        }

        /** {@code prefix} and repeats of {@code unit}, cut to exactly {@code length} characters. */
        private static String fill(String prefix, String unit, int length) {
            StringBuilder out = new StringBuilder(prefix);
            while (out.length() < length) {
                out.append(unit);
            }
            return out.substring(0, length);
        }
    }

    @Nested
    @SentenceFragment("a different request hash")
    class HashMismatch {

        @Test
        @SentenceFragment("gets the in-progress record back, unchanged")
        void inProgress() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.matchesRequest(OTHER_HASH)).isFalse();
            assertThat(record.fencingToken()).isEqualTo(token);
        }

        @Test
        @SentenceFragment("gets the completed record back, unchanged")
        void completed() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.complete(key, token, StoredResult.of(new byte[] {7}), LONG_RETENTION);

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(record.matchesRequest(OTHER_HASH)).isFalse();
        }

        @Test
        @SentenceFragment("gets the failed record back, unchanged")
        void failed() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.fail(key, token, new StoredFailure("E", "m"), LONG_RETENTION);

            IdempotencyRecord record = existing(store.acquire(key, OTHER_HASH, LONG_LEASE));

            assertThat(record.status()).isEqualTo(RecordStatus.FAILED);
            assertThat(record.matchesRequest(OTHER_HASH)).isFalse();
        }

        @Test
        @SentenceFragment("does not take over an expired lease")
        void expiredLeaseNotTakenOver() throws Exception {
            inTakeoverWindow(HASH, (key, token) -> {
                AcquireResult other = store.acquire(key, OTHER_HASH, LONG_LEASE);
                return () -> {
                    IdempotencyRecord record = existing(other);
                    assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(record.fencingToken()).isEqualTo(token);
                    assertThat(record.requestHash()).isEqualTo(HASH);
                };
            });
        }

        @Test
        @SentenceFragment("that differs only in letter case is different: no takeover, and the stored hash kept exactly")
        void comparedExactly() throws Exception {
            String mixedCase = "sha256:9F86d081884C7d659A2fEAA0c55AD015a3bf4F1b2B0b822CD15d6C15b0F00a08";
            inTakeoverWindow(mixedCase, (key, token) -> {
                AcquireResult lower = store.acquire(key, mixedCase.toLowerCase(java.util.Locale.ROOT), LONG_LEASE);
                AcquireResult upper = store.acquire(key, mixedCase.toUpperCase(java.util.Locale.ROOT), LONG_LEASE);
                return () -> {
                    assertThat(existing(lower).requestHash()).isEqualTo(mixedCase);
                    assertThat(existing(lower).fencingToken()).isEqualTo(token);
                    assertThat(existing(upper).fencingToken()).isEqualTo(token);
                };
            });
        }
    }

    @Nested
    @SentenceFragment("an expired lease")
    class Takeover {

        @Test
        @SentenceFragment("is taken over with a larger token and the original request hash")
        void takeover() throws Exception {
            inTakeoverWindow(HASH, (key, first) -> {
                AcquireResult second = store.acquire(key, HASH, LONG_LEASE);
                return () -> {
                    assertThat(second).isInstanceOf(AcquireResult.Acquired.class);
                    AcquireResult.Acquired acquired = (AcquireResult.Acquired) second;
                    assertThat(acquired.takeover()).isTrue();
                    assertThat(acquired.fencingToken()).isGreaterThan(first);
                    IdempotencyRecord record = store.find(key).orElseThrow();
                    assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(record.fencingToken()).isEqualTo(acquired.fencingToken());
                    assertThat(record.requestHash()).isEqualTo(HASH);
                };
            });
        }

        @Test
        @SentenceFragment("is taken over by a caller that skips the hash check")
        void takeoverWithNullHash() throws Exception {
            inTakeoverWindow(HASH, (key, token) -> {
                AcquireResult second = store.acquire(key, null, LONG_LEASE);
                return () -> {
                    assertThat(second).isInstanceOf(AcquireResult.Acquired.class);
                    assertThat(((AcquireResult.Acquired) second).takeover()).isTrue();
                    assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo(HASH);
                };
            });
        }

        @Test
        @SentenceFragment("of a record stored without a request hash is taken over by a caller with one, keeping no hash")
        void storedNullHashMatchesAny() throws Exception {
            inTakeoverWindow(null, (key, token) -> {
                AcquireResult second = store.acquire(key, HASH, LONG_LEASE);
                return () -> {
                    assertThat(second).isInstanceOf(AcquireResult.Acquired.class);
                    assertThat(((AcquireResult.Acquired) second).takeover()).isTrue();
                    assertThat(((AcquireResult.Acquired) second).fencingToken()).isGreaterThan(token);
                    assertThat(store.find(key).orElseThrow().requestHash()).isNull();
                };
            });
        }

        @Test
        @SentenceFragment("is still shown by find, unchanged, until its takeover window ends")
        void findShowsItInItsWindow() throws Exception {
            inTakeoverWindow(HASH, (key, token) -> {
                Optional<IdempotencyRecord> found = store.find(key);
                AcquireResult after = store.acquire(key, HASH, LONG_LEASE);
                return () -> {
                    assertThat(found).as("find of a record whose lease ended, in its takeover window").isPresent();
                    assertThat(found.get().status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(found.get().fencingToken()).isEqualTo(token);
                    assertThat(found.get().requestHash()).isEqualTo(HASH);
                    assertThat(after).as("an acquire after the find still takes the expired lease over")
                            .isInstanceOf(AcquireResult.Acquired.class);
                    assertThat(((AcquireResult.Acquired) after).takeover()).isTrue();
                };
            });
        }

        @Test
        @SentenceFragment("is not taken over while it is live")
        void liveLeaseIsKept() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            elapse(expiredLeasePause());

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).fencingToken()).isEqualTo(token);
        }

        @Test
        @SentenceFragment("can still be completed by its owner while no one has taken it over")
        void ownerMayFinishLate() throws Exception {
            inTakeoverWindow(HASH, (key, token) -> {
                boolean completed = store.complete(key, token, StoredResult.of(new byte[] {1}), LONG_RETENTION);
                return () -> {
                    assertThat(completed).isTrue();
                    assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
                };
            });
        }

        @Test
        @SentenceFragment("can still be failed, released or renewed by its owner while no one has taken it over")
        void ownerMayFailReleaseOrRenewLate() throws Exception {
            inTakeoverWindow(HASH, (key, token) -> {
                boolean failed = store.fail(key, token, new StoredFailure("E", "late"), LONG_RETENTION);
                return () -> {
                    assertThat(failed).as("late fail").isTrue();
                    assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.FAILED);
                };
            });
            inTakeoverWindow(HASH, (key, token) -> {
                boolean released = store.release(key, token);
                return () -> {
                    assertThat(released).as("late release").isTrue();
                    assertThat(store.find(key)).isEmpty();
                };
            });
            inTakeoverWindow(HASH, (key, token) -> {
                boolean renewed = store.extend(key, token, LONG_LEASE);
                AcquireResult after = store.acquire(key, HASH, LONG_LEASE);
                return () -> {
                    assertThat(renewed).as("late renewal").isTrue();
                    assertThat(existing(after).fencingToken()).as("a renewed lease is not taken over").isEqualTo(token);
                };
            });
        }

        @Test
        @SentenceFragment("is taken over by exactly one of many concurrent callers")
        void oneWinnerAmongConcurrentTakeovers() throws Exception {
            String key = newKey();
            acquireFresh(key, HASH, shortLease());
            elapse(expiredLeasePause());

            List<AcquireResult> results = race(16, () -> store.acquire(key, HASH, LONG_LEASE));

            assertThat(results).filteredOn(r -> r instanceof AcquireResult.Acquired).hasSize(1);
        }

        @Test
        @SentenceFragment("disappears after the takeover window, and the key starts afresh with a larger token")
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
    @SentenceFragment("a stale fencing token")
    class StaleTokens {

        @Test
        @SentenceFragment("cannot complete, fail, release or extend after a takeover")
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
        @SentenceFragment("cannot touch a record re-created after a release")
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
        @SentenceFragment("cannot touch a record re-created after the old one expired")
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
        @SentenceFragment("that was never issued is refused")
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
        @SentenceFragment("tokens keep increasing over many release and re-acquire cycles")
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
    @SentenceFragment("retention")
    class Retention {

        @Test
        @SentenceFragment("a completed record disappears after its retention, and the key starts afresh")
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
        @SentenceFragment("a failed record disappears after its retention")
        void failedExpires() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            store.fail(key, token, new StoredFailure("E", null), shortLease());

            elapse(expiredLeasePause());

            eventually("the failed record is invisible", () -> store.find(key).isEmpty());
            assertThat(store.acquire(key, HASH, LONG_LEASE)).isInstanceOf(AcquireResult.Acquired.class);
        }

        @Test
        @SentenceFragment("a completed record is kept until its retention ends")
        void completedKept() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();
            store.complete(key, token, StoredResult.of(new byte[] {1}), LONG_RETENTION);

            elapse(shortLease().multipliedBy(3));

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }

    @Nested
    @SentenceFragment("extending a lease")
    class Extending {

        @Test
        @SentenceFragment("moves the lease end to one new lease from now, and the record's visibility one lease beyond")
        void extendMovesLease() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
            Instant leaseBefore = store.find(key).orElseThrow().leaseExpiresAt();
            Duration longer = LONG_LEASE.multipliedBy(2);

            Instant before = storeNow();
            assertThat(store.extend(key, token, longer)).isTrue();
            Instant after = storeNow();

            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.leaseExpiresAt()).isAfter(leaseBefore);
            assertThat(record.leaseExpiresAt()).as("lease end, by the store's clock")
                    .isBetween(before.plus(longer).minus(CLOCK_TOLERANCE), after.plus(longer).plus(CLOCK_TOLERANCE));
            assertThat(Duration.between(record.leaseExpiresAt(), record.expiresAt()))
                    .isBetween(longer.minusSeconds(1), longer.plusSeconds(1));
            assertThat(record.fencingToken()).isEqualTo(token);
            assertThat(record.requestHash()).isEqualTo(HASH);
            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
        }

        @Test
        @SentenceFragment("keeps the record from being taken over after the original lease")
        void extendPreventsTakeover() {
            String key = newKey();
            long token = acquireFresh(key, HASH, shortLease()).fencingToken();

            assertThat(store.extend(key, token, LONG_LEASE)).isTrue();
            elapse(expiredLeasePause());

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).fencingToken()).isEqualTo(token);
        }

        @Test
        @SentenceFragment("is refused for a key that does not exist")
        void extendUnknown() {
            assertThat(store.extend(newKey(), 1, LONG_LEASE)).isFalse();
        }
    }

    @Nested
    @SentenceFragment("keys")
    class Keys {

        @Test
        @SentenceFragment("are independent of each other")
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
        @SentenceFragment("that differ only in letter case are different keys")
        void caseSensitive() {
            String key = newKey();
            acquireFresh(key + "-abc", HASH, LONG_LEASE);

            assertThat(store.acquire(key + "-ABC", HASH, LONG_LEASE)).isInstanceOf(AcquireResult.Acquired.class);
        }

        @Test
        @SentenceFragment("may be unicode up to the byte limit, in 2-, 3- and 4-byte characters")
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
        @SentenceFragment("with quotes, spaces, colons and wildcard characters are stored as they are")
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
    @SentenceFragment("results")
    class Results {

        @Test
        @SentenceFragment("of 1 MiB are stored and returned intact")
        void largeResult() {
            String key = newKey();
            byte[] payload = new byte[1024 * 1024];
            new java.util.Random(42).nextBytes(payload);
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            assertThat(store.complete(key, token, StoredResult.of(payload), LONG_RETENTION)).isTrue();

            assertThat(existing(store.acquire(key, HASH, LONG_LEASE)).result().payload()).isEqualTo(payload);
        }

        @Test
        @SentenceFragment("with every byte value, invalid UTF-8 and zero bytes included, are binary-safe")
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

        @Test
        @SentenceFragment("keep request hashes and failures with U+0000, unpaired surrogates and emoji exactly")
        void awkwardTextKeptExactly() {
            String key = newKey();
            String hash = "h\u0000a\uD800b\uDC00c\uD83D\uDE00";
            long token = acquireFresh(key, hash, LONG_LEASE).fencingToken();
            assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo(hash);
            assertThat(existing(store.acquire(key, hash, LONG_LEASE)).requestHash()).isEqualTo(hash);

            StoredFailure failure = new StoredFailure("Type\u0000\uD800",
                    "nul \u0000, lone \uDC00 and \uD800, \uD83D\uDE00");
            assertThat(store.fail(key, token, failure, LONG_RETENTION)).isTrue();

            IdempotencyRecord record = store.find(key).orElseThrow();
            assertThat(record.failure()).isEqualTo(failure);
            assertThat(record.requestHash()).isEqualTo(hash);
        }
    }

    @Nested
    @SentenceFragment("under concurrency")
    class Concurrency {

        @Test
        @SentenceFragment("many threads acquiring one key: exactly one wins")
        void oneKeyOneWinner() throws Exception {
            // several rounds, each on a key of its own: one race may happen not to overlap on a busy machine
            for (int round = 1; round <= 10; round++) {
                String key = newKey();

                List<AcquireResult> results = race(32, () -> store.acquire(key, HASH, LONG_LEASE));

                assertThat(results).as("round %d", round)
                        .filteredOn(r -> r instanceof AcquireResult.Acquired).hasSize(1);
                long token = ((AcquireResult.Acquired) results.stream()
                        .filter(r -> r instanceof AcquireResult.Acquired).findFirst().orElseThrow()).fencingToken();
                assertThat(results).as("round %d", round).filteredOn(r -> r instanceof AcquireResult.Existing)
                        .allSatisfy(r -> assertThat(((AcquireResult.Existing) r).record().fencingToken())
                                .isEqualTo(token));
            }
        }

        @Test
        @SentenceFragment("many keys in parallel: every key is won exactly once")
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
        @SentenceFragment("concurrent completions with the same token: the record is completed once")
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
    @SentenceFragment("expired records")
    class Purging {

        @Test
        @SentenceFragment("are invisible to every operation, and purging removes exactly them")
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
        @SentenceFragment("purging an empty or fully live store removes nothing it should keep")
        void purgeKeepsLive() {
            String key = newKey();
            long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();

            if (store instanceof PurgeableIdempotencyStore purgeable) {
                purgeable.purgeExpired();
            }

            assertThat(store.find(key).map(IdempotencyRecord::fencingToken)).isEqualTo(Optional.of(token));
        }

        @Test
        @SentenceFragment("purging keeps an in-progress record through its takeover window")
        void purgeKeepsTakeoverWindow() throws Exception {
            inTakeoverWindow(HASH, (key, token) -> {
                if (store instanceof PurgeableIdempotencyStore purgeable) {
                    purgeable.purgeExpired();
                }
                Optional<IdempotencyRecord> found = store.find(key);
                AcquireResult other = store.acquire(key, OTHER_HASH, LONG_LEASE);
                AcquireResult same = store.acquire(key, HASH, LONG_LEASE);
                return () -> {
                    assertThat(found).as("the record in its takeover window, after a purge").isPresent();
                    assertThat(found.get().fencingToken()).isEqualTo(token);
                    assertThat(existing(other).fencingToken()).as("a different request gets the record back")
                            .isEqualTo(token);
                    assertThat(same).as("the same request takes the expired lease over")
                            .isInstanceOf(AcquireResult.Acquired.class);
                    assertThat(((AcquireResult.Acquired) same).takeover()).isTrue();
                };
            });
        }

        @Test
        @SentenceFragment("fencing tokens keep growing after purging removed a key's records")
        void tokensGrowAfterPurge() {
            String released = newKey();
            long releasedToken = acquireFresh(released, HASH, LONG_LEASE).fencingToken();
            assertThat(store.release(released, releasedToken)).isTrue();
            String completed = newKey();
            long completedToken = acquireFresh(completed, HASH, LONG_LEASE).fencingToken();
            store.complete(completed, completedToken, StoredResult.of(new byte[] {1}), shortLease());
            String failed = newKey();
            long failedToken = acquireFresh(failed, HASH, LONG_LEASE).fencingToken();
            store.fail(failed, failedToken, new StoredFailure("E", null), shortLease());
            String abandoned = newKey();
            long abandonedToken = acquireFresh(abandoned, HASH, shortLease()).fencingToken();

            elapse(pastWindowPause());
            eventually("every record is invisible", () -> store.find(completed).isEmpty()
                    && store.find(failed).isEmpty() && store.find(abandoned).isEmpty());
            if (store instanceof PurgeableIdempotencyStore purgeable) {
                purgeable.purgeExpired();
            }

            assertThat(acquireFresh(released, HASH, LONG_LEASE).fencingToken()).as("after a release")
                    .isGreaterThan(releasedToken);
            assertThat(acquireFresh(completed, HASH, LONG_LEASE).fencingToken()).as("after a completion expired")
                    .isGreaterThan(completedToken);
            assertThat(acquireFresh(failed, HASH, LONG_LEASE).fencingToken()).as("after a failure expired")
                    .isGreaterThan(failedToken);
            assertThat(acquireFresh(abandoned, HASH, LONG_LEASE).fencingToken()).as("after an abandoned lease expired")
                    .isGreaterThan(abandonedToken);
        }
    }

    @Nested
    @SentenceFragment("a record past its visibility")
    class PastVisibility {

        @Test
        @SentenceFragment("cannot be completed, failed, released or renewed by its former owner, and stays absent")
        void formerOwnerCannotTouchIt() {
            List<String> keys = List.of(newKey(), newKey(), newKey(), newKey());
            List<Long> tokens = new ArrayList<>();
            for (String key : keys) {
                tokens.add(acquireFresh(key, HASH, shortLease()).fencingToken());
            }

            elapse(pastWindowPause());
            eventually("every abandoned record is invisible", () -> keys.stream().allMatch(k -> store.find(k).isEmpty()));

            assertThat(store.complete(keys.get(0), tokens.get(0), StoredResult.of(new byte[] {1}), LONG_RETENTION))
                    .as("complete").isFalse();
            assertThat(store.fail(keys.get(1), tokens.get(1), new StoredFailure("E", null), LONG_RETENTION))
                    .as("fail").isFalse();
            assertThat(store.release(keys.get(2), tokens.get(2))).as("release").isFalse();
            assertThat(store.extend(keys.get(3), tokens.get(3), LONG_LEASE)).as("extend").isFalse();
            for (int i = 0; i < keys.size(); i++) {
                String key = keys.get(i);
                assertThat(store.find(key)).as("find after the former owner's call").isEmpty();
                AcquireResult.Acquired fresh = acquireFresh(key, OTHER_HASH, LONG_LEASE);
                assertThat(fresh.takeover()).isFalse();
                assertThat(fresh.fencingToken()).isGreaterThan(tokens.get(i));
                assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo(OTHER_HASH);
            }
        }
    }

    @Nested
    @SentenceFragment("racing operations")
    class Races {

        @Test
        @SentenceFragment("a renewal racing its owner's completion never undoes the completion")
        void renewalRacingCompletion() throws Exception {
            raceRenewalAgainstFinish((key, token, round) -> store.complete(key, token,
                    StoredResult.of(new byte[] {(byte) round}), LONG_RETENTION), (key, round) -> {
                        IdempotencyRecord record = store.find(key).orElseThrow(
                                () -> new AssertionError("round " + round + ": the completed record is gone"));
                        assertThat(record.status()).as("round %d: the record after the race", round)
                                .isEqualTo(RecordStatus.COMPLETED);
                        assertThat(record.result()).isEqualTo(StoredResult.of(new byte[] {(byte) round}));
                    });
        }

        @Test
        @SentenceFragment("a renewal racing its owner's failure never undoes the failure")
        void renewalRacingFailure() throws Exception {
            raceRenewalAgainstFinish((key, token, round) -> store.fail(key, token,
                    new StoredFailure("E", "round " + round), LONG_RETENTION), (key, round) -> {
                        IdempotencyRecord record = store.find(key).orElseThrow(
                                () -> new AssertionError("round " + round + ": the failed record is gone"));
                        assertThat(record.status()).as("round %d: the record after the race", round)
                                .isEqualTo(RecordStatus.FAILED);
                    });
        }

        @Test
        @SentenceFragment("a renewal racing its owner's release never brings the record back")
        void renewalRacingRelease() throws Exception {
            raceRenewalAgainstFinish((key, token, round) -> store.release(key, token), (key, round) ->
                    assertThat(store.find(key)).as("round %d: the released key after the race", round).isEmpty());
        }

        @Test
        @SentenceFragment("a late completion racing a takeover: exactly one of them wins, and the record shows which")
        void lateCompletionRacingTakeover() throws Exception {
            raceLateOwnerAgainstTakeover((key, token) -> store.complete(key, token, StoredResult.of(new byte[] {1}),
                    LONG_RETENTION), (round, key, token, completed, acquired) -> {
                        IdempotencyRecord record = store.find(key).orElseThrow();
                        if (completed) {
                            assertThat(acquired).as("round %d: an acquire after the completion won", round)
                                    .isInstanceOf(AcquireResult.Existing.class);
                            assertThat(record.status()).as("round %d", round).isEqualTo(RecordStatus.COMPLETED);
                            assertThat(record.fencingToken()).isEqualTo(token);
                        } else {
                            assertThat(acquired).as("round %d: the acquire that beat the completion", round)
                                    .isInstanceOf(AcquireResult.Acquired.class);
                            assertThat(record.status()).as("round %d", round).isEqualTo(RecordStatus.IN_PROGRESS);
                            assertThat(record.fencingToken())
                                    .isEqualTo(((AcquireResult.Acquired) acquired).fencingToken());
                        }
                    });
        }

        @Test
        @SentenceFragment("a late failure racing a takeover: exactly one of them wins, and the record shows which")
        void lateFailureRacingTakeover() throws Exception {
            raceLateOwnerAgainstTakeover((key, token) -> store.fail(key, token, new StoredFailure("E", null),
                    LONG_RETENTION), (round, key, token, failed, acquired) -> {
                        IdempotencyRecord record = store.find(key).orElseThrow();
                        if (failed) {
                            assertThat(acquired).as("round %d: an acquire after the failure won", round)
                                    .isInstanceOf(AcquireResult.Existing.class);
                            assertThat(record.status()).as("round %d", round).isEqualTo(RecordStatus.FAILED);
                            assertThat(record.fencingToken()).isEqualTo(token);
                        } else {
                            assertThat(acquired).as("round %d: the acquire that beat the failure", round)
                                    .isInstanceOf(AcquireResult.Acquired.class);
                            assertThat(record.status()).as("round %d", round).isEqualTo(RecordStatus.IN_PROGRESS);
                            assertThat(record.fencingToken())
                                    .isEqualTo(((AcquireResult.Acquired) acquired).fencingToken());
                        }
                    });
        }

        @Test
        @SentenceFragment("a late release racing a takeover never deletes the new owner's record")
        void lateReleaseRacingTakeover() throws Exception {
            raceLateOwnerAgainstTakeover((key, token) -> store.release(key, token),
                    (round, key, token, released, acquired) -> {
                        assertThat(acquired).as("round %d: an acquire racing a late release", round)
                                .isInstanceOf(AcquireResult.Acquired.class);
                        AcquireResult.Acquired owner = (AcquireResult.Acquired) acquired;
                        if (released) {
                            assertThat(owner.takeover()).as("round %d: released, yet taken over", round).isFalse();
                        }
                        Optional<IdempotencyRecord> record = store.find(key);
                        assertThat(record).as("round %d: the new owner's record after the race", round).isPresent();
                        assertThat(record.get().fencingToken()).isEqualTo(owner.fencingToken());
                        assertThat(record.get().status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    });
        }

        @Test
        @SentenceFragment("a late renewal racing a takeover: exactly one of them wins, and the record shows which")
        void lateRenewalRacingTakeover() throws Exception {
            raceLateOwnerAgainstTakeover((key, token) -> store.extend(key, token, LONG_LEASE),
                    (round, key, token, renewed, acquired) -> {
                        IdempotencyRecord record = store.find(key).orElseThrow();
                        if (renewed) {
                            assertThat(acquired).as("round %d: an acquire after the renewal won", round)
                                    .isInstanceOf(AcquireResult.Existing.class);
                            assertThat(record.fencingToken()).as("round %d", round).isEqualTo(token);
                        } else {
                            assertThat(acquired).as("round %d: the acquire that beat the renewal", round)
                                    .isInstanceOf(AcquireResult.Acquired.class);
                            assertThat(record.fencingToken()).as("round %d", round)
                                    .isEqualTo(((AcquireResult.Acquired) acquired).fencingToken());
                        }
                        assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    });
        }
    }

    /** An owner's finishing call in a race: complete, fail or release. */
    @FunctionalInterface
    private interface Finish {
        boolean apply(String key, long token, int round);
    }

    /** What a race leaves behind, checked after it. */
    @FunctionalInterface
    private interface AfterFinish {
        void check(String key, int round);
    }

    /**
     * Races the owner's renewal against the owner's own finishing call, {@value RacingPair#ROUNDS} times on fresh
     * keys: the finish must succeed whatever the order, and what it wrote must stay.
     */
    private void raceRenewalAgainstFinish(Finish finish, AfterFinish check) throws Exception {
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                String key = newKey();
                long token = acquireFresh(key, HASH, LONG_LEASE).fencingToken();
                int r = round;
                RacingPair.Outcome<Boolean, Boolean> outcome = pair.race(round,
                        () -> store.extend(key, token, LONG_LEASE), () -> finish.apply(key, token, r));
                assertThat(outcome.second()).as("round %d: the owner's own finish", round).isTrue();
                check.check(key, round);
            }
        }
    }

    /** A late owner's call in a race: complete, fail, release or extend with the token of an ended lease. */
    @FunctionalInterface
    private interface LateCall {
        boolean apply(String key, long token);
    }

    /** The checks after a late owner's call raced a takeover. */
    @FunctionalInterface
    private interface AfterTakeoverRace {
        void check(int round, String key, long lateToken, boolean lateCallSucceeded, AcquireResult acquired);
    }

    /**
     * Races a late owner's call against an acquire that may take the ended lease over, {@value RacingPair#ROUNDS}
     * times: the keys are acquired with {@link #shortLease()}, their leases end together, and each is raced once.
     */
    private void raceLateOwnerAgainstTakeover(LateCall late, AfterTakeoverRace check) throws Exception {
        List<String> keys = new ArrayList<>();
        List<Long> tokens = new ArrayList<>();
        for (int round = 0; round < RacingPair.ROUNDS; round++) {
            String key = newKey();
            keys.add(key);
            tokens.add(acquireFresh(key, HASH, shortLease()).fencingToken());
        }
        elapse(leaseEndPause());
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                String key = keys.get(round);
                long token = tokens.get(round);
                RacingPair.Outcome<Boolean, AcquireResult> outcome = pair.race(round,
                        () -> late.apply(key, token), () -> store.acquire(key, HASH, LONG_LEASE));
                check.check(round, key, token, outcome.first(), outcome.second());
            }
        }
    }
}
