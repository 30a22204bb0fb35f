package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PurgeSchedulerTest {

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();

    @Test
    @DisplayName("purges expired records at its interval and stops on close")
    void purgesAndStops() throws Exception {
        InMemoryIdempotencyStore timed = InMemoryIdempotencyStore.withClock(now::get);
        for (int i = 0; i < 3; i++) {
            long token = ((AcquireResult.Acquired) timed.acquire("k" + i, null, Duration.ofSeconds(1))).fencingToken();
            timed.complete("k" + i, token, StoredResult.of(new byte[] {1}), Duration.ofSeconds(10));
        }
        now.set(now.get().plusSeconds(11));
        assertThat(timed.size()).isEqualTo(3);

        try (PurgeScheduler scheduler = PurgeScheduler.start(timed, Duration.ofMillis(20))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (timed.size() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(timed.size()).isZero();
            assertThat(scheduler.purgeNow()).isZero();
        }
    }

    @Test
    @DisplayName("a non-positive interval is refused")
    void interval() {
        assertThatThrownBy(() -> PurgeScheduler.start(store, Duration.ZERO)).hasMessageContaining("must be positive");
    }
}
