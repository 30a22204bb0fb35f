package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.junit.jupiter.api.DisplayNameGenerator.IndicativeSentences.SentenceFragment;
import org.junit.jupiter.api.Test;

/**
 * The contract of the optional {@link ForgettingIdempotencyStore} ability, for stores that offer it (in addition
 * to {@link IdempotencyStoreContract}): {@code forget} removes a visible record of any status when the fencing
 * token is the record's, never a record with another token; the key's tokens keep increasing afterwards, so the
 * owner of a forgotten in-progress record can change nothing.
 *
 * <pre>{@code
 * class MyStoreForgetContractTest extends ForgetContract {
 *     protected ForgettingIdempotencyStore createStore() {
 *         return new MyStore(...);
 *     }
 * }
 * }</pre>
 *
 * <p>Time passes as in {@link IdempotencyStoreContract}: override {@link #elapse(Duration)} for a store on a
 * manual clock, or {@link #shortLease()} for a remote store on a loaded machine.
 */
public abstract class ForgetContract extends StoreContractSupport<ForgettingIdempotencyStore> {

    private static final Duration LEASE = LONG_LEASE;
    private static final Duration RETENTION = LONG_RETENTION;

    /** For subclasses. */
    protected ForgetContract() {
    }

    /** The lease of the racing cases: long enough a takeover window for all their rounds on a remote store. */
    private Duration raceLease() {
        return shortLease().multipliedBy(4);
    }

    /** Checks that the key is free: a new acquire, with another hash, creates a record with a larger token. */
    private void assertFreshAfter(String key, long forgottenToken) {
        assertThat(store.find(key)).as("the forgotten record").isEmpty();
        AcquireResult.Acquired again = acquireFresh(key, "another request", LEASE);
        assertThat(again.takeover()).isFalse();
        assertThat(again.fencingToken()).as("the token after a forget").isGreaterThan(forgottenToken);
    }

    @Test
    @SentenceFragment("removes a completed record, so the next acquire starts afresh with a larger token")
    void forgetsCompleted() {
        String key = newKey();
        long token = acquireFresh(key, "h", LEASE).fencingToken();
        store.complete(key, token, StoredResult.of(new byte[] {1}), RETENTION);

        assertThat(store.forget(key, token)).isTrue();

        assertFreshAfter(key, token);
    }

    @Test
    @SentenceFragment("removes a failed record")
    void forgetsFailed() {
        String key = newKey();
        long token = acquireFresh(key, "h", LEASE).fencingToken();
        store.fail(key, token, new StoredFailure("E", "boom"), RETENTION);

        assertThat(store.forget(key, token)).isTrue();

        assertFreshAfter(key, token);
    }

    @Test
    @SentenceFragment("removes an in-progress record, after which its owner can complete, renew or release nothing")
    void forgetsInProgress() {
        String key = newKey();
        long token = acquireFresh(key, "h", LEASE).fencingToken();

        assertThat(store.forget(key, token)).isTrue();

        assertThat(store.find(key)).isEmpty();
        assertThat(store.complete(key, token, StoredResult.of(new byte[] {1}), RETENTION)).isFalse();
        assertThat(store.extend(key, token, LEASE)).isFalse();
        assertThat(store.release(key, token)).isFalse();
        assertThat(store.find(key)).isEmpty();
        assertFreshAfter(key, token);
    }

    @Test
    @SentenceFragment("the old owner of a forgotten key cannot complete the record created after it")
    void oldOwnerCannotTouchNewRecord() {
        String key = newKey();
        long old = acquireFresh(key, "h", LEASE).fencingToken();
        store.forget(key, old);
        long current = acquireFresh(key, "h", LEASE).fencingToken();

        assertThat(store.complete(key, old, StoredResult.of(new byte[] {1}), RETENTION)).isFalse();
        assertThat(store.forget(key, old)).as("a forget with the old token").isFalse();

        IdempotencyRecord record = store.find(key).orElseThrow();
        assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
        assertThat(record.fencingToken()).isEqualTo(current);
    }

    @Test
    @SentenceFragment("refuses another token and leaves the record as it is")
    void refusesAnotherToken() {
        String key = newKey();
        long token = acquireFresh(key, "h", LEASE).fencingToken();
        store.complete(key, token, StoredResult.of(new byte[] {1}), RETENTION);
        IdempotencyRecord before = store.find(key).orElseThrow();

        assertThat(store.forget(key, token + 1_000_000)).isFalse();
        assertThat(store.forget(key, token + 1)).isFalse();

        assertThat(store.find(key)).contains(before);
    }

    @Test
    @SentenceFragment("answers false for a key without a record, and creates none")
    void absentKey() {
        String key = newKey();

        assertThat(store.forget(key, 1)).isFalse();

        assertThat(store.find(key)).isEmpty();
    }

    @Test
    @SentenceFragment("answers false for a released record")
    void releasedRecord() {
        String key = newKey();
        long token = acquireFresh(key, "h", LEASE).fencingToken();
        store.release(key, token);

        assertThat(store.forget(key, token)).isFalse();

        assertFreshAfter(key, token);
    }

    @Test
    @SentenceFragment("answers false for a record past its visibility, and does not bring it back")
    void recordPastVisibility() {
        String key = newKey();
        long token = acquireFresh(key, "h", shortLease()).fencingToken();
        elapse(pastWindowPause());
        eventually("the abandoned record is invisible", () -> store.find(key).isEmpty());

        assertThat(store.forget(key, token)).isFalse();

        assertFreshAfter(key, token);
    }

    @Test
    @SentenceFragment("forgets only the key it is given")
    void onlyThatKey() {
        String key = newKey();
        String neighbour = key + "x";
        long token = acquireFresh(key, "h", LEASE).fencingToken();
        long neighbourToken = acquireFresh(neighbour, "h", LEASE).fencingToken();
        store.complete(neighbour, neighbourToken, StoredResult.of(new byte[] {2}), RETENTION);

        assertThat(store.forget(key, token)).isTrue();

        assertThat(store.find(neighbour).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
    }

    @Test
    @SentenceFragment("a forget racing the owner's completion leaves no record behind")
    void forgetRacingCompletion() throws Exception {
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                String key = newKey();
                long token = acquireFresh(key, "h", LEASE).fencingToken();
                StoredResult result = StoredResult.of(new byte[] {(byte) round});
                RacingPair.Outcome<Boolean, Boolean> outcome = pair.race(round, () -> store.forget(key, token),
                        () -> store.complete(key, token, result, RETENTION));
                assertThat(outcome.first()).as("round %d: the forget (the token is the record's either way)", round)
                        .isTrue();
                assertThat(store.find(key)).as("round %d: the record after the race", round).isEmpty();
            }
        }
    }

    @Test
    @SentenceFragment("a forget with an expired owner's token racing a takeover: exactly one of them wins")
    void forgetRacingTakeover() throws Exception {
        List<String> keys = new ArrayList<>();
        List<Long> tokens = new ArrayList<>();
        for (int round = 0; round < RacingPair.ROUNDS; round++) {
            String key = newKey();
            keys.add(key);
            tokens.add(acquireFresh(key, "h", raceLease()).fencingToken());
        }
        elapse(raceLease().plus(shortLease().dividedBy(4))); // a takeover window of four short leases for the rounds
        try (RacingPair pair = new RacingPair()) {
            for (int round = 0; round < RacingPair.ROUNDS; round++) {
                String key = keys.get(round);
                long token = tokens.get(round);
                RacingPair.Outcome<Boolean, AcquireResult> outcome = pair.race(round, () -> store.forget(key, token),
                        () -> store.acquire(key, "h", LEASE));
                assertThat(outcome.second()).as("round %d: the acquire", round)
                        .isInstanceOf(AcquireResult.Acquired.class);
                AcquireResult.Acquired acquired = (AcquireResult.Acquired) outcome.second();
                IdempotencyRecord record = store.find(key).orElseThrow();
                assertThat(record.fencingToken()).as("round %d: the record is the acquire's", round)
                        .isEqualTo(acquired.fencingToken());
                assertThat(acquired.takeover()).as("round %d: a takeover exactly when the forget lost", round)
                        .isEqualTo(!outcome.first());
            }
        }
    }
}
