package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.api.spi.AcquireResult;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MonotonicClockTest {

    private final AtomicLong wallMillis = new AtomicLong(Instant.parse("2026-11-30T12:00:00Z").toEpochMilli());
    private final AtomicLong nanos = new AtomicLong(5_000_000_000L);
    private final MonotonicClock clock = new MonotonicClock(wallMillis::get, nanos::get);

    @Test
    @DisplayName("starts at the wall-clock time, then moves only with the monotonic counter")
    void ignoresWallClockSteps() {
        assertThat(clock.instant()).isEqualTo(Instant.parse("2026-11-30T12:00:00Z"));

        wallMillis.addAndGet(Duration.ofHours(1).toMillis()); // the wall clock is stepped forward
        nanos.addAndGet(Duration.ofMillis(1500).toNanos());

        assertThat(clock.instant()).isEqualTo(Instant.parse("2026-11-30T12:00:01.500Z"));
        assertThat(clock.millis()).isEqualTo(clock.instant().toEpochMilli());

        wallMillis.addAndGet(-Duration.ofHours(3).toMillis()); // and back
        nanos.addAndGet(1);
        assertThat(clock.instant()).isEqualTo(Instant.parse("2026-11-30T12:00:01.500000001Z"));
    }

    @Test
    @DisplayName("a lease of the in-memory store lasts its length whatever the wall clock does")
    void leasesDoNotMoveWithTheWallClock() {
        InMemoryIdempotencyStore store = InMemoryIdempotencyStore.withClock(clock);
        assertThat(store.acquire("k", "h", Duration.ofSeconds(10))).isInstanceOf(AcquireResult.Acquired.class);

        wallMillis.addAndGet(Duration.ofMinutes(5).toMillis()); // a wall-clock step far past the lease
        nanos.addAndGet(Duration.ofSeconds(9).toNanos());
        assertThat(store.acquire("k", "h", Duration.ofSeconds(10))).isInstanceOf(AcquireResult.Existing.class);

        nanos.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(store.acquire("k", "h", Duration.ofSeconds(10)))
                .isEqualTo(new AcquireResult.Acquired(2, true));
    }

    @Test
    @DisplayName("the store's default clock is the monotonic one")
    void defaultStoreIsMonotonic() {
        assertThat(InMemoryIdempotencyStore.create().clock()).isInstanceOf(MonotonicClock.class);
    }
}
