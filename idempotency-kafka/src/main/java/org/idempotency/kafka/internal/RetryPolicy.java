package org.idempotency.kafka.internal;

import java.time.Duration;
import java.util.function.Predicate;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.kafka.RecordIdentityException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer loop's retry policy: how long a record waits before it is tried again, and when the loop gives
 * up on it. Three kinds of trouble, told apart by where they come from:
 * <ul>
 *   <li>the record's <em>claim</em> is held elsewhere or was lost: waits with growing delays up to
 *       {@code maxInProgressDelay}, without limit (the other member finishes, or its lease ends);</li>
 *   <li>the <em>store</em> fails while claiming: waits with the backoff delays, without limit;</li>
 *   <li>the <em>handler</em> fails (whatever it throws, idempotency exceptions of its own nested calls included):
 *       tried again after the backoff delays, up to {@code maxAttempts}, unless {@code retryable} refuses.</li>
 * </ul>
 * A claim that can never succeed (a key reused with another payload, a record without identity, a recorded
 * permanent failure) is given up at once. Immutable and thread-safe.
 */
public final class RetryPolicy {

    private static final Logger LOG = LoggerFactory.getLogger(RetryPolicy.class);

    /** Why a claim failed, as far as waiting is concerned. */
    public enum ClaimTrouble {
        /** Held by a running execution elsewhere, or lost to one: wait for it. */
        HELD_ELSEWHERE,
        /** The store failed: wait for it to come back. */
        STORE_FAILED,
        /** Cannot succeed: give up at once. */
        HOPELESS,
        /** Something unexpected: count it as a failed attempt. */
        UNEXPECTED
    }

    private final int maxAttempts;
    private final long initialBackoffNanos;
    private final long maxBackoffNanos;
    private final long maxInProgressDelayNanos;
    private final Predicate<Throwable> retryable;

    /**
     * @param maxAttempts how many times a failing handler is tried, at least 1
     * @param initialBackoff the delay after the first failure (and the first wait)
     * @param maxBackoff the longest delay after a failure or a store fault
     * @param maxInProgressDelay the longest wait for a record held elsewhere
     * @param retryable which handler failures are worth retrying
     */
    public RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration maxInProgressDelay,
            Predicate<Throwable> retryable) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
        }
        this.maxAttempts = maxAttempts;
        this.initialBackoffNanos = initialBackoff.toNanos();
        this.maxBackoffNanos = maxBackoff.toNanos();
        this.maxInProgressDelayNanos = maxInProgressDelay.toNanos();
        this.retryable = retryable;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    /** The delay before trying again after the {@code failures}-th failure of the handler (1-based). */
    public long failureDelayNanos(int failures) {
        return grow(failures, maxBackoffNanos);
    }

    /** The delay before the {@code waits}-th look (1-based) at a record whose claim failed this way. */
    public long waitNanos(ClaimTrouble trouble, int waits) {
        return grow(waits, trouble == ClaimTrouble.HELD_ELSEWHERE ? maxInProgressDelayNanos : maxBackoffNanos);
    }

    /** The longest wait there is, for a dead-letter send that failed. */
    public long maxBackoffNanos() {
        return maxBackoffNanos;
    }

    /** What a claim failure means for the record. */
    public static ClaimTrouble classify(Throwable claimFailure) {
        if (claimFailure instanceof IdempotencyInProgressException
                || claimFailure instanceof IdempotencyLeaseLostException) {
            return ClaimTrouble.HELD_ELSEWHERE;
        }
        if (claimFailure instanceof IdempotencyStoreException) {
            return ClaimTrouble.STORE_FAILED;
        }
        if (hopelessReason(claimFailure) != null) {
            return ClaimTrouble.HOPELESS;
        }
        return ClaimTrouble.UNEXPECTED;
    }

    /**
     * The dead-letter reason for a claim that can never succeed ({@code key-reused}, {@code unidentifiable},
     * {@code failure-recorded}), or {@code null}.
     */
    public static @Nullable String hopelessReason(Throwable claimFailure) {
        if (claimFailure instanceof IdempotencyKeyReusedException) {
            return "key-reused";
        }
        if (claimFailure instanceof RecordIdentityException) {
            return "unidentifiable";
        }
        if (claimFailure instanceof IdempotencyReplayedFailureException) {
            return "failure-recorded";
        }
        return null;
    }

    /**
     * Whether to give up on a record whose handler failed for the {@code attempts}-th time.
     *
     * @return {@code null} to try again; otherwise the dead-letter reason: {@code handler-failed} (every attempt
     *     failed) or {@code not-retryable} (the predicate refused)
     */
    public @Nullable String giveUpReason(Throwable failure, int attempts) {
        boolean retry;
        try {
            retry = retryable.test(failure);
        } catch (RuntimeException e) {
            LOG.warn("The retryable predicate threw; retrying", e);
            retry = true;
        }
        if (!retry) {
            return "not-retryable";
        }
        return attempts >= maxAttempts ? "handler-failed" : null;
    }

    private long grow(int step, long maxNanos) {
        long delay = initialBackoffNanos;
        for (int i = 1; i < step && delay < maxNanos; i++) {
            delay *= 2;
        }
        return Math.min(delay, maxNanos);
    }
}
