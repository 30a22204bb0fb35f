package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The isDuplicate/markProcessed style: atomic claims, their end, and what happens to forgotten ones. */
class MessageDeduplicatorTest {

    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();
    private final Idempotency idempotency = Idempotency.builder(store).build();
    private final MessageDeduplicator dedup = MessageDeduplicator.builder(idempotency, "consumer").build();
    private final MessageDeduplicator other = MessageDeduplicator.builder(idempotency, "consumer").build();

    @AfterEach
    void close() {
        dedup.close();
        other.close();
        idempotency.close();
    }

    @Test
    @DisplayName("isDuplicate claims a new message; after markProcessed it is a duplicate for everyone")
    void claimThenMark() {
        assertThat(dedup.isDuplicate("m-1", "h")).isFalse();
        assertThat(store.find("consumer:m-1").orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
        assertThat(dedup.isDuplicate("m-1", "h")).as("still ours to process").isFalse();

        assertThat(dedup.markProcessed("m-1")).isTrue();

        assertThat(dedup.isDuplicate("m-1", "h")).isTrue();
        assertThat(other.isDuplicate("m-1", "h")).isTrue();
        assertThat(dedup.claimsHeld()).isZero();
    }

    @Test
    @DisplayName("a message claimed by another consumer is in progress, neither a duplicate nor ours")
    void claimedElsewhere() {
        assertThat(dedup.isDuplicate("m-1")).isFalse();

        assertThatThrownBy(() -> other.isDuplicate("m-1")).isInstanceOf(IdempotencyInProgressException.class);
        assertThatThrownBy(() -> other.markProcessed("m-1")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("isDuplicate first");
    }

    @Test
    @DisplayName("release gives the message back, so the next delivery processes it")
    void release() {
        assertThat(dedup.isDuplicate("m-1")).isFalse();
        assertThat(dedup.release("m-1")).isTrue();
        assertThat(dedup.release("m-1")).isFalse();

        assertThat(other.isDuplicate("m-1")).isFalse();
    }

    @Test
    @DisplayName("the same id with another payload hash is refused")
    void keyReuse() {
        dedup.isDuplicate("m-1", "h1");
        dedup.markProcessed("m-1");

        assertThatThrownBy(() -> other.isDuplicate("m-1", "h2")).isInstanceOf(IdempotencyKeyReusedException.class);
    }

    @Test
    @DisplayName("a claim never marked nor released is released after maxClaim")
    void forgottenClaimExpires() {
        try (MessageDeduplicator forgetful = MessageDeduplicator.builder(idempotency, "consumer")
                .maxClaim(Duration.ofMillis(200)).build()) {
            assertThat(forgetful.isDuplicate("m-1")).isFalse();

            Await.until(Duration.ofSeconds(30), () -> forgetful.claimsHeld() == 0, () -> "claim released");
            assertThat(store.find("consumer:m-1")).isEmpty();
            assertThat(other.isDuplicate("m-1")).isFalse();
            assertThatThrownBy(() -> forgetful.markProcessed("m-1")).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    @DisplayName("closing releases the claims still held")
    void closeReleases() {
        MessageDeduplicator closing = MessageDeduplicator.builder(idempotency, "consumer").build();
        closing.isDuplicate("m-1");
        closing.isDuplicate("m-2");

        closing.close();

        assertThat(store.find("consumer:m-1")).isEmpty();
        assertThat(store.find("consumer:m-2")).isEmpty();
    }
}
