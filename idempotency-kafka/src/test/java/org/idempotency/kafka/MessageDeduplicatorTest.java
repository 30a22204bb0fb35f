package org.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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

            Await.until(Duration.ofSeconds(30), () -> store.find("consumer:m-1").isEmpty(), () -> "claim released");
            assertThat(forgetful.claimsHeld()).isZero();
            assertThat(other.isDuplicate("m-1")).isFalse();
        }
    }

    @Test
    @DisplayName("markProcessed and release after maxClaim answer false, as documented, and never complete")
    void lateMarkAnswersFalse() {
        try (MessageDeduplicator forgetful = MessageDeduplicator.builder(idempotency, "consumer")
                .maxClaim(Duration.ofMillis(200)).build()) {
            assertThat(forgetful.isDuplicate("m-1")).isFalse();
            assertThat(forgetful.isDuplicate("m-2")).isFalse();
            Await.until(Duration.ofSeconds(30), () -> store.find("consumer:m-1").isEmpty()
                    && store.find("consumer:m-2").isEmpty(), () -> "claims released");

            assertThat(forgetful.markProcessed("m-1")).isFalse();
            assertThat(forgetful.release("m-2")).isFalse();
            assertThat(store.find("consumer:m-1")).as("not completed by a late markProcessed").isEmpty();
            assertThatThrownBy(() -> forgetful.markProcessed("m-1")).as("ended once")
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> forgetful.markProcessed("m-3")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("isDuplicate first");
        }
    }

    @Test
    @DisplayName("asking again about a message whose claim this deduplicator holds is in progress: one caller")
    void askingAgainIsInProgress() {
        assertThat(dedup.isDuplicate("m-1", "h")).isFalse();

        assertThatThrownBy(() -> dedup.isDuplicate("m-1", "h")).isInstanceOf(IdempotencyInProgressException.class)
                .hasMessageContaining("consumer:m-1");
        assertThatThrownBy(() -> dedup.isDuplicate("m-1")).isInstanceOf(IdempotencyInProgressException.class);
        assertThat(dedup.markProcessed("m-1")).isTrue();
        assertThat(dedup.isDuplicate("m-1", "h")).isTrue();
    }

    @Test
    @DisplayName("asking again about a held message with another payload hash is refused as key reuse")
    void askingAgainWithAnotherPayload() {
        assertThat(dedup.isDuplicate("m-1", "h1")).isFalse();

        assertThatThrownBy(() -> dedup.isDuplicate("m-1", "h2")).isInstanceOf(IdempotencyKeyReusedException.class)
                .hasMessageContaining("consumer:m-1");
        assertThat(dedup.claimsHeld()).isOne();
        assertThat(dedup.markProcessed("m-1")).isTrue();
    }

    @Test
    @DisplayName("threads of one deduplicator asking about one message at once: exactly one is told to process it")
    void oneCallerAmongThreads() throws Exception {
        int threads = 8;
        int messages = 200;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int m = 0; m < messages; m++) {
                String id = "race-" + m;
                CyclicBarrier start = new CyclicBarrier(threads);
                List<Future<String>> answers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    answers.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        try {
                            return dedup.isDuplicate(id, "h") ? "duplicate" : "yours";
                        } catch (IdempotencyInProgressException e) {
                            return "in progress";
                        }
                    }));
                }
                List<String> seen = new ArrayList<>();
                for (Future<String> answer : answers) {
                    seen.add(answer.get(30, TimeUnit.SECONDS));
                }
                assertThat(seen).as("answers for %s", id).containsOnlyOnce("yours")
                        .containsOnly("yours", "in progress");
                assertThat(dedup.markProcessed(id)).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @DisplayName("a closed deduplicator claims nothing: no claim is left that nobody would end")
    void closedClaimsNothing() {
        MessageDeduplicator closed = MessageDeduplicator.builder(idempotency, "consumer").build();
        closed.close();

        assertThatThrownBy(() -> closed.isDuplicate("m-1")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThat(store.find("consumer:m-1")).isEmpty();
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
