package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
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
    @DisplayName("a purge that throws an Error is logged and the schedule goes on")
    void survivesErrors() throws Exception {
        AtomicInteger purges = new AtomicInteger();
        PurgeableIdempotencyStore broken = new DelegatingPurgeable(store) {
            @Override
            public long purgeExpired() {
                if (purges.incrementAndGet() <= 2) {
                    throw new AssertionError("a purge that breaks");
                }
                return 0;
            }
        };

        try (CapturedLog log = new CapturedLog()) {
            PurgeScheduler scheduler = PurgeScheduler.start(broken, Duration.ofMillis(10));
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (purges.get() < 4 && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThat(purges.get()).as("purges after two that threw errors").isGreaterThanOrEqualTo(4);
            } finally {
                scheduler.close();
            }
            assertThat(log.text()).contains("Purging expired idempotency records failed; trying again at the next"
                    + " interval").contains("a purge that breaks");
        }
    }

    @Test
    @DisplayName("a non-positive interval is refused")
    void interval() {
        assertThatThrownBy(() -> PurgeScheduler.start(store, Duration.ZERO)).hasMessageContaining("must be positive");
    }

    /** Passes every call to a store; subclasses override what they break. */
    private static class DelegatingPurgeable implements PurgeableIdempotencyStore {
        private final InMemoryIdempotencyStore delegate;

        DelegatingPurgeable(InMemoryIdempotencyStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public AcquireResult acquire(String key, String requestHash, Duration lease) {
            return delegate.acquire(key, requestHash, lease);
        }

        @Override
        public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
            return delegate.complete(key, fencingToken, result, retention);
        }

        @Override
        public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
            return delegate.fail(key, fencingToken, failure, retention);
        }

        @Override
        public boolean release(String key, long fencingToken) {
            return delegate.release(key, fencingToken);
        }

        @Override
        public boolean extend(String key, long fencingToken, Duration lease) {
            return delegate.extend(key, fencingToken, lease);
        }

        @Override
        public Optional<IdempotencyRecord> find(String key) {
            return delegate.find(key);
        }

        @Override
        public long purgeExpired() {
            return delegate.purgeExpired();
        }
    }
}
