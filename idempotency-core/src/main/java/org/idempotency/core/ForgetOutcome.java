package org.idempotency.core;

import java.time.Duration;
import java.util.Objects;
import org.idempotency.api.RecordStatus;
import org.jspecify.annotations.Nullable;

/**
 * What {@link IdempotentOperation#forget} did: whether the key's record was removed from the store (and in which
 * state it was), and how long other nodes may still replay it from their replay caches. This node's cache no
 * longer holds the key in any case.
 *
 * @param result what happened to the record
 * @param storedKey the key the store holds the record under ({@code operation:key})
 * @param removedStatus the state of the removed record; {@code null} unless {@code result} is
 *     {@link Result#REMOVED}
 * @param otherNodesMayReplayFor how long another node's replay cache may still answer for the key: the maximum
 *     age of its entries ({@link Idempotency.Builder#replayCacheMaxAge}, assuming every node is configured
 *     alike), zero without a cache
 */
public record ForgetOutcome(Result result, String storedKey, @Nullable RecordStatus removedStatus,
        Duration otherNodesMayReplayFor) {

    /** What happened to the record. */
    public enum Result {
        /** The record was removed: the next begin of the key runs the work again. */
        REMOVED,
        /** The store holds no visible record of the key: nothing to remove. */
        ABSENT,
        /**
         * The record changed between reading it and removing it (taken over, released and re-created): the newer
         * record was left alone. Forget again if it should go too.
         */
        CHANGED
    }

    /**
     * Checks the fields.
     *
     * @param result what happened to the record
     * @param storedKey the stored key
     * @param removedStatus the state of the removed record, only for {@link Result#REMOVED}
     * @param otherNodesMayReplayFor how long other nodes may replay the key; zero or positive
     * @throws NullPointerException if a required field is null
     * @throws IllegalArgumentException if {@code removedStatus} does not fit {@code result}
     */
    public ForgetOutcome {
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(storedKey, "storedKey");
        Objects.requireNonNull(otherNodesMayReplayFor, "otherNodesMayReplayFor");
        if ((result == Result.REMOVED) != (removedStatus != null)) {
            throw new IllegalArgumentException("removedStatus is given exactly when the record was removed; result="
                    + result + ", removedStatus=" + removedStatus);
        }
    }

    /**
     * Whether the record was removed.
     *
     * @return {@code true} for {@link Result#REMOVED}
     */
    public boolean removed() {
        return result == Result.REMOVED;
    }
}
