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
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.junit.jupiter.api.DisplayNameGenerator.IndicativeSentences.SentenceFragment;
import org.junit.jupiter.api.Test;

/**
 * The contract of the optional {@link BatchCompletingIdempotencyStore} ability, for stores that offer it (in
 * addition to {@link IdempotencyStoreContract}): each outcome of {@code completeAll} is what {@code complete} would
 * have returned for that key, in request order, with the fencing token checked per record. A record is completed
 * only by the token that owns it in progress (also after its lease ended, as long as no one took it over); stale
 * tokens, finished and released records and records past their visibility are refused and left as they are.
 *
 * <pre>{@code
 * class MyStoreBatchCompleteContractTest extends BatchCompleteContract {
 *     protected BatchCompletingIdempotencyStore createStore() {
 *         return new MyStore(...);
 *     }
 * }
 * }</pre>
 *
 * <p>Time passes as in {@link IdempotencyStoreContract}: override {@link #elapse(Duration)} for a store on a
 * manual clock, or {@link #shortLease()} for a remote store on a loaded machine.
 */
public abstract class BatchCompleteContract extends StoreContractSupport<BatchCompletingIdempotencyStore> {

    private static final Duration LEASE = LONG_LEASE;
    private static final Duration RETENTION = LONG_RETENTION;

    /** For subclasses. */
    protected BatchCompleteContract() {
    }

    private static String newBatchKey() {
        return "kit-complete:" + UUID.randomUUID();
    }

    private CompleteRequest acquireOwned(Duration lease, StoredResult result) {
        String key = newBatchKey();
        return new CompleteRequest(key, acquireFresh(key, "h", lease).fencingToken(), result);
    }

    private static StoredResult result(int value) {
        return StoredResult.of(new byte[] {(byte) value, 42});
    }

    @Test
    @SentenceFragment("completes each owned record with its result, kept for the retention from now, keeping token"
            + " and hash")
    void completesOwnedRecords() {
        List<CompleteRequest> batch = List.of(acquireOwned(LEASE, result(1)), acquireOwned(LEASE, result(2)),
                acquireOwned(LEASE, result(3)));

        Instant before = storeNow();
        List<Boolean> completed = store.completeAll(batch, RETENTION);
        Instant after = storeNow();

        assertThat(completed).containsExactly(true, true, true);
        for (CompleteRequest request : batch) {
            IdempotencyRecord record = store.find(request.key()).orElseThrow();
            assertThat(record.status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(record.result()).isEqualTo(request.result());
            assertThat(record.fencingToken()).isEqualTo(request.fencingToken());
            assertThat(record.requestHash()).isEqualTo("h");
            assertThat(record.expiresAt()).as("end of retention, by the store's clock").isBetween(
                    before.plus(RETENTION).minusSeconds(2), after.plus(RETENTION).plusSeconds(2));
        }
    }

    @Test
    @SentenceFragment("a completed record replays to the next acquire, whatever the batch it was completed in")
    void completedRecordsReplay() {
        CompleteRequest request = acquireOwned(LEASE, result(7));

        assertThat(store.completeAll(List.of(request), RETENTION)).containsExactly(true);

        IdempotencyRecord replayed = existing(store.acquire(request.key(), "h", LEASE));
        assertThat(replayed.status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(replayed.result()).isEqualTo(request.result());
    }

    @Test
    @SentenceFragment("keeps status codes, empty payloads and results that were not kept")
    void keepsEveryKindOfResult() {
        List<CompleteRequest> batch = List.of(acquireOwned(LEASE, new StoredResult(new byte[] {1}, 201)),
                acquireOwned(LEASE, StoredResult.of(new byte[0])), acquireOwned(LEASE, StoredResult.notKept()),
                acquireOwned(LEASE, new StoredResult(null, 413)));

        assertThat(store.completeAll(batch, RETENTION)).containsExactly(true, true, true, true);

        for (CompleteRequest request : batch) {
            assertThat(store.find(request.key()).orElseThrow().result()).isEqualTo(request.result());
        }
    }

    @Test
    @SentenceFragment("a mixed batch answers per key in request order, and changes nothing for keys it refuses")
    void mixedBatch() {
        CompleteRequest first = acquireOwned(LEASE, result(1));
        CompleteRequest completed = acquireOwned(LEASE, result(2));
        store.complete(completed.key(), completed.fencingToken(), result(99), RETENTION);
        CompleteRequest failed = acquireOwned(LEASE, result(3));
        store.fail(failed.key(), failed.fencingToken(), new StoredFailure("E", null), RETENTION);
        CompleteRequest released = acquireOwned(LEASE, result(4));
        store.release(released.key(), released.fencingToken());
        CompleteRequest running = acquireOwned(LEASE, result(5));
        CompleteRequest wrongToken = new CompleteRequest(running.key(), running.fencingToken() + 1_000_000, result(5));
        CompleteRequest absent = new CompleteRequest(newBatchKey(), first.fencingToken(), result(6));
        CompleteRequest last = acquireOwned(LEASE, result(7));
        IdempotencyRecord completedBefore = store.find(completed.key()).orElseThrow();
        IdempotencyRecord runningBefore = store.find(running.key()).orElseThrow();

        List<Boolean> outcomes = store.completeAll(
                List.of(first, completed, failed, released, wrongToken, absent, last), RETENTION);

        assertThat(outcomes).containsExactly(true, false, false, false, false, false, true);
        assertThat(store.find(first.key()).orElseThrow().result()).isEqualTo(first.result());
        assertThat(store.find(completed.key())).contains(completedBefore);
        assertThat(store.find(failed.key()).orElseThrow().status()).isEqualTo(RecordStatus.FAILED);
        assertThat(store.find(released.key())).isEmpty();
        assertThat(store.find(running.key())).contains(runningBefore);
        assertThat(store.find(absent.key())).isEmpty();
        assertThat(store.find(last.key()).orElseThrow().result()).isEqualTo(last.result());
    }

    @Test
    @SentenceFragment("refuses the token of a lease that was taken over, and completes for the new owner")
    void staleTokenAfterTakeover() throws Exception {
        inTakeoverWindow("h", (key, stale) -> {
            AcquireResult takeover = store.acquire(key, "h", LEASE);
            if (!(takeover instanceof AcquireResult.Acquired owner)) {
                return () -> assertThat(takeover).as("an acquire of an expired lease")
                        .isInstanceOf(AcquireResult.Acquired.class);
            }
            long current = owner.fencingToken();
            List<Boolean> byStale = store.completeAll(List.of(new CompleteRequest(key, stale, result(1))), RETENTION);
            IdempotencyRecord afterStale = store.find(key).orElseThrow();
            List<Boolean> byOwner = store.completeAll(List.of(new CompleteRequest(key, current, result(2))),
                    RETENTION);
            return () -> {
                assertThat(byStale).containsExactly(false);
                assertThat(afterStale.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                assertThat(byOwner).containsExactly(true);
                IdempotencyRecord record = store.find(key).orElseThrow();
                assertThat(record.fencingToken()).isEqualTo(current);
                assertThat(record.result()).isEqualTo(result(2));
            };
        });
    }

    @Test
    @SentenceFragment("refuses the token of a record released and re-created")
    void staleTokenAfterReleaseAndRecreate() {
        CompleteRequest old = acquireOwned(LEASE, result(1));
        store.release(old.key(), old.fencingToken());
        long current = acquireFresh(old.key(), "h", LEASE).fencingToken();

        assertThat(store.completeAll(List.of(old), RETENTION)).containsExactly(false);
        IdempotencyRecord record = store.find(old.key()).orElseThrow();
        assertThat(record.fencingToken()).isEqualTo(current);
        assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
    }

    @Test
    @SentenceFragment("completes a record whose lease ended while no one took it over")
    void completesEndedLeaseNotTakenOver() throws Exception {
        inTakeoverWindow("h", (key, token) -> {
            List<Boolean> completed = store.completeAll(List.of(new CompleteRequest(key, token, result(3))),
                    RETENTION);
            AcquireResult after = store.acquire(key, "h", LEASE);
            return () -> {
                assertThat(completed).containsExactly(true);
                assertThat(existing(after).status()).isEqualTo(RecordStatus.COMPLETED);
            };
        });
    }

    @Test
    @SentenceFragment("refuses records past their visibility and does not bring them back")
    void refusesRecordsPastVisibility() {
        List<CompleteRequest> batch = List.of(acquireOwned(shortLease(), result(1)),
                acquireOwned(shortLease(), result(2)));
        elapse(pastWindowPause());
        eventually("the abandoned records are invisible",
                () -> batch.stream().allMatch(request -> store.find(request.key()).isEmpty()));

        assertThat(store.completeAll(batch, RETENTION)).containsExactly(false, false);

        for (CompleteRequest request : batch) {
            assertThat(store.find(request.key())).isEmpty();
            AcquireResult fresh = store.acquire(request.key(), "other", LEASE);
            assertThat(fresh).isInstanceOf(AcquireResult.Acquired.class);
            assertThat(((AcquireResult.Acquired) fresh).takeover()).isFalse();
        }
    }

    @Test
    @SentenceFragment("an empty batch returns an empty list")
    void emptyBatch() {
        assertThat(store.completeAll(List.of(), RETENTION)).isEmpty();
    }

    @Test
    @SentenceFragment("a batch with a key twice is refused, and completes nothing")
    void duplicateKeys() {
        CompleteRequest owned = acquireOwned(LEASE, result(1));

        assertThatThrownBy(() -> store.completeAll(List.of(owned, owned), RETENTION))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.completeAll(List.of(owned,
                new CompleteRequest(owned.key(), owned.fencingToken() + 1, result(2))), RETENTION))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(store.find(owned.key()).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
    }

    @Test
    @SentenceFragment("completes a batch of a few hundred records")
    void largeBatch() {
        List<CompleteRequest> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            batch.add(acquireOwned(LEASE, result(i)));
        }

        List<Boolean> completed = store.completeAll(batch, RETENTION);

        assertThat(completed).hasSize(300).containsOnly(true);
        for (int i = 0; i < batch.size(); i += 37) {
            assertThat(store.find(batch.get(i).key()).orElseThrow().result()).isEqualTo(batch.get(i).result());
        }
    }

    @Test
    @SentenceFragment("a late batch completion racing a takeover: per key, exactly one of them wins")
    void lateCompletionRacingTakeover() throws Exception {
        List<CompleteRequest> owned = new ArrayList<>();
        for (int round = 0; round < RacingPair.ROUNDS; round++) {
            owned.add(acquireOwned(shortLease().multipliedBy(4), result(round)));
        }
        elapse(shortLease().multipliedBy(4).plus(shortLease().dividedBy(4))); // a takeover window for all rounds
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                CompleteRequest request = owned.get(round);
                RacingPair.Outcome<List<Boolean>, AcquireResult> outcome = pair.race(round,
                        () -> store.completeAll(List.of(request), RETENTION),
                        () -> store.acquire(request.key(), "h", LEASE));
                boolean completed = outcome.first().get(0);
                IdempotencyRecord record = store.find(request.key()).orElseThrow();
                if (completed) {
                    assertThat(existing(outcome.second()).status()).as("round %d: an acquire after the completion",
                            round).isEqualTo(RecordStatus.COMPLETED);
                    assertThat(record.result()).as("round %d", round).isEqualTo(request.result());
                } else {
                    assertThat(outcome.second()).as("round %d: the acquire that beat the completion", round)
                            .isInstanceOf(AcquireResult.Acquired.class);
                    assertThat(record.status()).as("round %d", round).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(record.fencingToken()).as("round %d", round)
                            .isEqualTo(((AcquireResult.Acquired) outcome.second()).fencingToken());
                }
            }
        }
    }

    @Test
    @SentenceFragment("a renewal racing a batch completion never undoes the completion")
    void renewalRacingBatchCompletion() throws Exception {
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                CompleteRequest request = acquireOwned(LEASE, result(round));
                CompleteRequest other = acquireOwned(LEASE, result(round + 1));
                RacingPair.Outcome<List<Boolean>, Boolean> outcome = pair.race(round,
                        () -> store.completeAll(List.of(request, other), RETENTION),
                        () -> store.extend(request.key(), request.fencingToken(), LEASE));
                assertThat(outcome.first()).as("round %d: the batch completion", round).containsExactly(true, true);
                IdempotencyRecord record = store.find(request.key()).orElseThrow();
                assertThat(record.status()).as("round %d: the record after the race", round)
                        .isEqualTo(RecordStatus.COMPLETED);
                assertThat(record.result()).isEqualTo(request.result());
            }
        }
    }
}
