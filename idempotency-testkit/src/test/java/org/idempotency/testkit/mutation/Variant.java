package org.idempotency.testkit.mutation;

import java.util.List;

/**
 * The variants of {@link ReferenceStore}: the correct store, two correct variations of it, and one realistic bug
 * each. For every bug, {@link #caughtBy()} names the contract cases that must fail on it: the mutation suite checks
 * that they do, in every run, so a hole once found in the kit stays closed.
 */
enum Variant {

    CORRECT(null, List.of()),
    /** Correct: tokens counted per key, so they repeat across keys (the SPI allows it). */
    PER_KEY_TOKENS(null, List.of()),

    // --- atomicity: a read and a write a round trip apart ---
    EXTEND_READ_THEN_WRITE("extend reads the record, then writes it back with a new lease a round trip later",
            List.of("Races.renewalRacingCompletion", "Races.renewalRacingFailure", "Races.renewalRacingRelease",
                    "Races.lateRenewalRacingTakeover", "BatchExtendContract.renewalRacingCompletion",
                    "BatchExtendContract.lateRenewalRacingTakeover",
                    "RenewalRaces.completionsRacingRenewals")),
    RELEASE_READ_THEN_DELETE("release checks the token, then deletes the key a round trip later",
            List.of("Races.lateReleaseRacingTakeover")),
    COMPLETE_READ_THEN_WRITE("complete checks the token, then writes the result a round trip later",
            List.of("Races.lateCompletionRacingTakeover")),
    FAIL_READ_THEN_WRITE("fail checks the token, then writes the failure a round trip later",
            List.of("Races.lateFailureRacingTakeover")),
    ACQUIRE_READ_THEN_WRITE("acquire reads the key, then creates the record a round trip later",
            List.of("Concurrency.oneKeyOneWinner")),

    // --- visibility ---
    COMPLETE_IGNORES_VISIBILITY("complete accepts the token of a record past its visibility",
            List.of("PastVisibility.formerOwnerCannotTouchIt")),
    FAIL_IGNORES_VISIBILITY("fail accepts the token of a record past its visibility",
            List.of("PastVisibility.formerOwnerCannotTouchIt")),
    RELEASE_IGNORES_VISIBILITY("release accepts the token of a record past its visibility",
            List.of("PastVisibility.formerOwnerCannotTouchIt")),
    EXTEND_IGNORES_VISIBILITY("extend accepts the token of a record past its visibility",
            List.of("PastVisibility.formerOwnerCannotTouchIt")),
    FIND_HIDES_ENDED_LEASE("find hides an in-progress record whose lease ended, in its takeover window",
            List.of("Takeover.findShowsItInItsWindow")),
    NO_TAKEOVER_WINDOW("an in-progress record disappears when its lease ends",
            List.of("Takeover.takeover", "FreshAcquire.leaseAndTakeoverWindow")),
    PURGE_AT_LEASE_END("purging removes in-progress records when their lease ends, not at expiresAt",
            List.of("Purging.purgeKeepsTakeoverWindow")),

    // --- tokens ---
    TOKEN_RESET_ON_PURGE("tokens are counted per key, and purging a key's record drops its counter",
            List.of("Purging.tokensGrowAfterPurge")),
    TAKEOVER_KEEPS_TOKEN("a takeover hands the record over with its old token",
            List.of("Takeover.takeover", "StaleTokens.afterTakeover")),
    TOKEN_NOT_CHECKED("complete, fail, release and extend accept any token of an in-progress record",
            List.of("StaleTokens.afterTakeover", "StaleTokens.neverIssued")),

    // --- request hashes and stored values ---
    NULL_STORED_HASH_BLOCKS_TAKEOVER("a record stored without a request hash is taken over only by a caller without one",
            List.of("Takeover.storedNullHashMatchesAny", "BatchAcquireContract.takesOverExpiredLeases")),
    HASH_IGNORES_CASE("request hashes are compared ignoring case",
            List.of("HashMismatch.comparedExactly", "BatchAcquireContract.noTakeoverWithDifferentHash")),
    FAILURE_MESSAGE_CUT("failure messages are kept to 1,000 characters (a column too narrow)",
            List.of("Failing.longestFailureKeptWhole")),
    FAILURE_TYPE_CUT("failure types are kept to 128 characters (a column too narrow)",
            List.of("Failing.longestFailureKeptWhole")),

    // --- the store's clock ---
    LEASE_BY_CALLER_CLOCK("acquire computes the lease end from the caller's clock instead of the store's",
            List.of("FreshAcquire.leaseAndTakeoverWindow")),
    RETENTION_BY_CALLER_CLOCK("complete computes the end of retention from the caller's clock instead of the store's",
            List.of("Completing.completeThenReplay")),

    // --- batch acquire ---
    ACQUIRE_ALL_PUT_IF_ABSENT("acquireAll creates records only for keys with no record at all: no expiry, no takeover",
            List.of("BatchAcquireContract.takesOverExpiredLeases", "BatchAcquireContract.reusesKeysNoLongerVisible",
                    "BatchAcquireContract.mixedBatchWithExpiry", "BatchClaims.takeOverCrashedBatch")),
    ACQUIRE_ALL_NO_TAKEOVER("acquireAll treats an expired lease as held until the record disappears",
            List.of("BatchAcquireContract.takesOverExpiredLeases", "BatchAcquireContract.staleTokensAfterBatchTakeover",
                    "BatchClaims.takeOverCrashedBatch")),
    ACQUIRE_ALL_IGNORES_HASH("acquireAll takes over an expired lease whatever the request hash",
            List.of("BatchAcquireContract.noTakeoverWithDifferentHash", "BatchAcquireContract.mixedBatchWithExpiry")),
    ACQUIRE_ALL_OUT_OF_ORDER("acquireAll returns the outcomes in key order instead of request order",
            List.of("BatchAcquireContract.mixedBatch")),

    // --- batch extend ---
    EXTEND_ALL_IGNORES_TOKEN("extendAll renews any in-progress record of the key, whatever the token",
            List.of("BatchExtendContract.mixedBatch", "BatchExtendContract.staleTokenAfterTakeover")),
    EXTEND_ALL_RENEWS_INVISIBLE("extendAll renews records past their visibility",
            List.of("BatchExtendContract.refusesRecordsPastVisibility")),
    EXTEND_ALL_RENEWS_FINISHED("extendAll turns completed and failed records back into leases",
            List.of("BatchExtendContract.mixedBatch")),
    EXTEND_ALL_ACCEPTS_DUPLICATES("extendAll accepts a key twice",
            List.of("BatchExtendContract.duplicateKeys"));

    private final String bug;
    private final List<String> caughtBy;

    Variant(String bug, List<String> caughtBy) {
        this.bug = bug;
        this.caughtBy = caughtBy;
    }

    /** Whether this variant is correct (it must pass every case). */
    boolean correct() {
        return bug == null;
    }

    /** The bug, in a sentence; empty for the correct variants. */
    String bug() {
        return bug == null ? "" : bug;
    }

    /** The cases that must fail on this variant, as {@code DeclaringClass.method}. */
    List<String> caughtBy() {
        return caughtBy;
    }

    /** Whether the execution contract's cases must run too (the bug shows through {@code execute}/{@code beginAll}). */
    boolean needsExecutionContract() {
        return caughtBy.stream().anyMatch(c -> c.startsWith("BatchClaims.") || c.startsWith("RenewalRaces."));
    }
}
