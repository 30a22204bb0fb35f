package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.junit.jupiter.api.DisplayNameGenerator.IndicativeSentences.SentenceFragment;
import org.junit.jupiter.api.Test;

/**
 * The contract of the optional {@link BatchExtendingIdempotencyStore} ability, for stores that offer it (in
 * addition to {@link IdempotencyStoreContract}; a store with batch acquire need not have batch extend, so the
 * two contracts run separately): each outcome of {@code extendAll} is what {@code extend} would have returned
 * for that key, in request order. A lease is renewed only for the token that owns the in-progress record (also
 * after its lease ended, as long as no one took it over); stale tokens, finished records and records past
 * their visibility are refused and left as they are.
 *
 * <pre>{@code
 * class MyStoreBatchExtendContractTest extends BatchExtendContract {
 *     protected BatchExtendingIdempotencyStore createStore() {
 *         return new MyStore(...);
 *     }
 * }
 * }</pre>
 *
 * <p>Time passes as in {@link IdempotencyStoreContract}: override {@link #elapse(Duration)} for a store on a
 * manual clock, or {@link #shortLease()} for a remote store on a loaded machine.
 */
public abstract class BatchExtendContract extends StoreContractSupport<BatchExtendingIdempotencyStore> {

    private static final Duration LEASE = LONG_LEASE;
    private static final Duration RETENTION = LONG_RETENTION;

    /** For subclasses. */
    protected BatchExtendContract() {
    }

    private static String newBatchKey() {
        return "kit-extend:" + UUID.randomUUID();
    }

    private OwnedKey acquireOwned(Duration lease) {
        String key = newBatchKey();
        return new OwnedKey(key, acquireFresh(key, "h", lease).fencingToken());
    }

    @Test
    @SentenceFragment("renews each owned lease to one new lease from now, by the store's clock, keeping token and hash")
    void renewsOwnedLeases() {
        List<OwnedKey> keys = List.of(acquireOwned(LEASE), acquireOwned(LEASE), acquireOwned(LEASE));
        Duration longer = LEASE.multipliedBy(2);

        Instant before = storeNow();
        List<Boolean> renewed = store.extendAll(keys, longer);
        Instant after = storeNow();

        assertThat(renewed).containsExactly(true, true, true);
        for (OwnedKey owned : keys) {
            IdempotencyRecord record = store.find(owned.key()).orElseThrow();
            assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(record.fencingToken()).isEqualTo(owned.fencingToken());
            assertThat(record.requestHash()).isEqualTo("h");
            assertThat(record.leaseExpiresAt()).as("lease end, by the store's clock").isBetween(
                    before.plus(longer).minusSeconds(2), after.plus(longer).plusSeconds(2));
            assertThat(Duration.between(record.leaseExpiresAt(), record.expiresAt()))
                    .isBetween(longer.minusSeconds(1), longer.plusSeconds(1));
        }
    }

    @Test
    @SentenceFragment("keeps renewed leases from being taken over after their original lease")
    void renewalPreventsTakeover() {
        List<OwnedKey> keys = List.of(acquireOwned(shortLease()), acquireOwned(shortLease()));

        assertThat(store.extendAll(keys, LEASE)).containsExactly(true, true);
        elapse(expiredLeasePause());

        for (OwnedKey owned : keys) {
            AcquireResult again = store.acquire(owned.key(), "h", LEASE);
            assertThat(again).isInstanceOf(AcquireResult.Existing.class);
            assertThat(((AcquireResult.Existing) again).record().fencingToken()).isEqualTo(owned.fencingToken());
        }
    }

    @Test
    @SentenceFragment("a mixed batch answers per key in request order, and changes nothing for keys it refuses")
    void mixedBatch() {
        OwnedKey first = acquireOwned(LEASE);
        OwnedKey completed = acquireOwned(LEASE);
        store.complete(completed.key(), completed.fencingToken(), StoredResult.of(new byte[] {1}), RETENTION);
        OwnedKey failed = acquireOwned(LEASE);
        store.fail(failed.key(), failed.fencingToken(), new StoredFailure("E", null), RETENTION);
        OwnedKey released = acquireOwned(LEASE);
        store.release(released.key(), released.fencingToken());
        OwnedKey running = acquireOwned(LEASE);
        OwnedKey wrongToken = new OwnedKey(running.key(), running.fencingToken() + 1_000_000);
        OwnedKey absent = new OwnedKey(newBatchKey(), first.fencingToken());
        OwnedKey last = acquireOwned(LEASE);
        IdempotencyRecord runningBefore = store.find(running.key()).orElseThrow();

        List<Boolean> renewed = store.extendAll(List.of(first, completed, failed, released, wrongToken, absent, last),
                LEASE.multipliedBy(2));

        assertThat(renewed).containsExactly(true, false, false, false, false, false, true);
        assertThat(store.find(completed.key()).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(store.find(failed.key()).orElseThrow().status()).isEqualTo(RecordStatus.FAILED);
        assertThat(store.find(released.key())).isEmpty();
        assertThat(store.find(running.key())).contains(runningBefore);
        assertThat(store.find(absent.key())).isEmpty();
    }

    @Test
    @SentenceFragment("refuses the token of a lease that was taken over, and renews the new owner's")
    void staleTokenAfterTakeover() throws Exception {
        inTakeoverWindow("h", (key, stale) -> {
            AcquireResult takeover = store.acquire(key, "h", LEASE);
            if (!(takeover instanceof AcquireResult.Acquired owner)) {
                return () -> assertThat(takeover).as("an acquire of an expired lease")
                        .isInstanceOf(AcquireResult.Acquired.class);
            }
            long current = owner.fencingToken();
            List<Boolean> renewed = store.extendAll(List.of(new OwnedKey(key, stale), new OwnedKey(newBatchKey(), 1)),
                    LEASE);
            List<Boolean> renewedByOwner = store.extendAll(List.of(new OwnedKey(key, current)), LEASE);
            return () -> {
                assertThat(renewed).containsExactly(false, false);
                assertThat(renewedByOwner).containsExactly(true);
                assertThat(store.find(key).orElseThrow().fencingToken()).isEqualTo(current);
            };
        });
    }

    @Test
    @SentenceFragment("refuses the token of a record released and re-created")
    void staleTokenAfterReleaseAndRecreate() {
        OwnedKey old = acquireOwned(LEASE);
        store.release(old.key(), old.fencingToken());
        long current = acquireFresh(old.key(), "h", LEASE).fencingToken();

        assertThat(store.extendAll(List.of(old), LEASE)).containsExactly(false);
        assertThat(store.find(old.key()).orElseThrow().fencingToken()).isEqualTo(current);
    }

    @Test
    @SentenceFragment("renews a lease that ended while no one took it over")
    void renewsEndedLeaseNotTakenOver() throws Exception {
        inTakeoverWindow("h", (key, token) -> {
            List<Boolean> renewed = store.extendAll(List.of(new OwnedKey(key, token)), LEASE);
            AcquireResult after = store.acquire(key, "h", LEASE);
            return () -> {
                assertThat(renewed).containsExactly(true);
                assertThat(after).as("a renewed lease is not taken over").isInstanceOf(AcquireResult.Existing.class);
            };
        });
    }

    @Test
    @SentenceFragment("refuses records past their visibility and does not bring them back")
    void refusesRecordsPastVisibility() {
        List<OwnedKey> keys = List.of(acquireOwned(shortLease()), acquireOwned(shortLease()));
        elapse(pastWindowPause());
        eventually("the abandoned records are invisible",
                () -> keys.stream().allMatch(owned -> store.find(owned.key()).isEmpty()));

        assertThat(store.extendAll(keys, LEASE)).containsExactly(false, false);

        for (OwnedKey owned : keys) {
            assertThat(store.find(owned.key())).isEmpty();
            AcquireResult fresh = store.acquire(owned.key(), "other", LEASE);
            assertThat(fresh).isInstanceOf(AcquireResult.Acquired.class);
            assertThat(((AcquireResult.Acquired) fresh).takeover()).isFalse();
        }
    }

    @Test
    @SentenceFragment("an empty batch returns an empty list")
    void emptyBatch() {
        assertThat(store.extendAll(List.of(), LEASE)).isEmpty();
    }

    @Test
    @SentenceFragment("a batch with a key twice is refused")
    void duplicateKeys() {
        OwnedKey owned = acquireOwned(LEASE);

        assertThatThrownBy(() -> store.extendAll(List.of(owned, owned), LEASE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.extendAll(List.of(owned, new OwnedKey(owned.key(), owned.fencingToken() + 1)),
                LEASE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @SentenceFragment("a batch renewal racing the owner's completion of one of its keys never undoes the completion")
    void renewalRacingCompletion() throws Exception {
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                OwnedKey key = acquireOwned(LEASE);
                OwnedKey other = acquireOwned(LEASE);
                StoredResult result = StoredResult.of(new byte[] {(byte) round});
                RacingPair.Outcome<List<Boolean>, Boolean> outcome = pair.race(round,
                        () -> store.extendAll(List.of(key, other), LEASE),
                        () -> store.complete(key.key(), key.fencingToken(), result, RETENTION));
                assertThat(outcome.second()).as("round %d: the owner's completion", round).isTrue();
                assertThat(outcome.first()).as("round %d: the batch renewal", round).hasSize(2);
                assertThat(outcome.first().get(1)).as("round %d: the other key of the batch", round).isTrue();
                IdempotencyRecord record = store.find(key.key()).orElseThrow();
                assertThat(record.status()).as("round %d: the record after the race", round)
                        .isEqualTo(RecordStatus.COMPLETED);
                assertThat(record.result()).isEqualTo(result);
            }
        }
    }

    @Test
    @SentenceFragment("a late batch renewal racing a takeover: per key, exactly one of them wins")
    void lateRenewalRacingTakeover() throws Exception {
        List<OwnedKey> keys = new ArrayList<>();
        for (int round = 0; round < RacingPair.ROUNDS; round++) {
            keys.add(acquireOwned(shortLease()));
        }
        elapse(leaseEndPause());
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                OwnedKey owned = keys.get(round);
                RacingPair.Outcome<List<Boolean>, AcquireResult> outcome = pair.race(round,
                        () -> store.extendAll(List.of(owned), LEASE), () -> store.acquire(owned.key(), "h", LEASE));
                boolean renewed = outcome.first().get(0);
                IdempotencyRecord record = store.find(owned.key()).orElseThrow();
                if (renewed) {
                    assertThat(outcome.second()).as("round %d: an acquire after the renewal won", round)
                            .isInstanceOf(AcquireResult.Existing.class);
                    assertThat(record.fencingToken()).as("round %d", round).isEqualTo(owned.fencingToken());
                } else {
                    assertThat(outcome.second()).as("round %d: the acquire that beat the renewal", round)
                            .isInstanceOf(AcquireResult.Acquired.class);
                    assertThat(record.fencingToken()).as("round %d", round)
                            .isEqualTo(((AcquireResult.Acquired) outcome.second()).fencingToken());
                }
            }
        }
    }
}
