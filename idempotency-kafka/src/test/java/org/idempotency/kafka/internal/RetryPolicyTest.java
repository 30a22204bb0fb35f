package org.idempotency.kafka.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.kafka.RecordIdentityException;
import org.idempotency.kafka.internal.RetryPolicy.ClaimTrouble;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The loop's retry policy on its own: delays, what a claim failure means, when a failing handler is given up. */
class RetryPolicyTest {

    private final RetryPolicy policy = new RetryPolicy(3, Duration.ofMillis(100), Duration.ofMillis(700),
            Duration.ofMillis(250), error -> !(error instanceof IllegalArgumentException));

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    @Test
    @DisplayName("failure delays double from the initial backoff up to the max")
    void failureDelays() {
        assertThat(millis(policy.failureDelayNanos(1))).isEqualTo(100);
        assertThat(millis(policy.failureDelayNanos(2))).isEqualTo(200);
        assertThat(millis(policy.failureDelayNanos(3))).isEqualTo(400);
        assertThat(millis(policy.failureDelayNanos(4))).isEqualTo(700);
        assertThat(millis(policy.failureDelayNanos(60))).isEqualTo(700);
    }

    @Test
    @DisplayName("a record held elsewhere waits up to maxInProgressDelay; a failing store up to the max backoff")
    void waits() {
        assertThat(millis(policy.waitNanos(ClaimTrouble.HELD_ELSEWHERE, 1))).isEqualTo(100);
        assertThat(millis(policy.waitNanos(ClaimTrouble.HELD_ELSEWHERE, 5))).isEqualTo(250);
        assertThat(millis(policy.waitNanos(ClaimTrouble.STORE_FAILED, 5))).isEqualTo(700);
    }

    @Test
    @DisplayName("claim failures: held elsewhere or lost waits, a store fault waits, what cannot succeed is given up")
    void claimTrouble() {
        assertThat(RetryPolicy.classify(new IdempotencyInProgressException("k", Duration.ZERO, Duration.ZERO)))
                .isEqualTo(ClaimTrouble.HELD_ELSEWHERE);
        assertThat(RetryPolicy.classify(new IdempotencyLeaseLostException("k", 3)))
                .isEqualTo(ClaimTrouble.HELD_ELSEWHERE);
        assertThat(RetryPolicy.classify(new IdempotencyStoreException("down", "k", null)))
                .isEqualTo(ClaimTrouble.STORE_FAILED);
        assertThat(RetryPolicy.classify(new IdempotencyKeyReusedException("k", RecordStatus.COMPLETED)))
                .isEqualTo(ClaimTrouble.HOPELESS);
        assertThat(RetryPolicy.hopelessReason(new IdempotencyKeyReusedException("k", RecordStatus.COMPLETED)))
                .isEqualTo("key-reused");
        assertThat(RetryPolicy.hopelessReason(new RecordIdentityException("no key", null)))
                .isEqualTo("unidentifiable");
        assertThat(RetryPolicy.hopelessReason(new IdempotencyReplayedFailureException("k",
                new StoredFailure("E", "m")))).isEqualTo("failure-recorded");
        assertThat(RetryPolicy.classify(new IllegalStateException("bug"))).isEqualTo(ClaimTrouble.UNEXPECTED);
    }

    @Test
    @DisplayName("a failing handler is retried up to maxAttempts, unless the predicate refuses; a throwing predicate retries")
    void giveUp() {
        assertThat(policy.giveUpReason(new IllegalStateException(), 1)).isNull();
        assertThat(policy.giveUpReason(new IllegalStateException(), 2)).isNull();
        assertThat(policy.giveUpReason(new IllegalStateException(), 3)).isEqualTo("handler-failed");
        assertThat(policy.giveUpReason(new IllegalArgumentException(), 1)).isEqualTo("not-retryable");
        RetryPolicy throwing = new RetryPolicy(2, Duration.ofMillis(1), Duration.ofMillis(1), Duration.ofMillis(1),
                error -> {
                    throw new IllegalStateException("predicate bug");
                });
        assertThat(throwing.giveUpReason(new RuntimeException(), 1)).isNull();
        assertThatThrownBy(() -> new RetryPolicy(0, Duration.ofMillis(1), Duration.ofMillis(1), Duration.ofMillis(1),
                error -> true)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxAttempts");
    }
}
