package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.idempotency.core.ReplayCacheTest.awaitTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyListener;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The threads that run application code for lease renewal, behind a listener or callback that is stuck: bounded,
 * said so, and lease-lost callbacks never behind a listener.
 */
class ReportingThreadTest {

    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();

    @Test
    @DisplayName("behind a stuck listener, renewal reports wait up to the bound and the rest are dropped and logged;"
            + " a lease lost meanwhile has its callback run at once and is reported once the listener returns")
    void stuckListenerBoundsRenewalReports() {
        CountDownLatch release = new CountDownLatch(1);
        Set<String> lost = ConcurrentHashMap.newKeySet();
        CountDownLatch callback = new CountDownLatch(1);
        List<Execution<String>> running = new ArrayList<>();
        try (CapturedLog log = new CapturedLog();
                Idempotency engine = engine(lost, event -> {
                    if (event.type() == IdempotencyEvent.Type.LEASE_RENEWED) {
                        StuckListener.holdOn(release);
                    }
                })) {
            IdempotentOperation<String> op = engine.operation("stuck", String.class);
            try {
                for (int i = 0; i < 1_000; i++) { // renewed five times a second each: 5,000 reports a second
                    running.add(op.begin("k" + i, "h"));
                }
                running.get(0).onLeaseLost(callback::countDown);
                awaitTrue("renewal reports are dropped", Duration.ofSeconds(60),
                        () -> engine.renewer.droppedRenewalReports() > 0);
                assertThat(engine.renewer.queuedReports()).as("reports waiting")
                        .isLessThanOrEqualTo(LeaseRenewer.MAX_QUEUED_RENEWAL_REPORTS + running.size());
                assertThat(log.text()).contains("The reporting thread of lease renewal is behind")
                        .contains("lost and leaked leases are still reported");

                op.forget("k0"); // its next renewal finds the record gone: the lease is lost
                awaitTrue("k0's lease is lost", Duration.ofSeconds(30), running.get(0)::isLeaseLost);
                awaitTrue("k0's lease-lost callback runs, the listener still stuck", Duration.ofSeconds(10),
                        () -> callback.getCount() == 0);
                awaitTrue("more renewal reports are dropped", Duration.ofSeconds(30),
                        () -> engine.renewer.droppedRenewalReports() > LeaseRenewer.MAX_QUEUED_RENEWAL_REPORTS);
                assertThat(lost).as("reported before the listener returns").isEmpty();
            } finally {
                release.countDown();
            }
            awaitTrue("the lost lease is reported", Duration.ofSeconds(30), () -> lost.contains("k0"));
            for (Execution<String> execution : running.subList(1, running.size())) {
                assertThat(execution.complete("done")).isTrue();
            }
            running.get(0).close();
        }
    }

    @Test
    @DisplayName("a listener that runs longer than the renewal interval is logged with where it is stuck, and renewal"
            + " goes on")
    void slowListenerLogged() {
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean first = new AtomicBoolean(true);
        try (CapturedLog log = new CapturedLog();
                Idempotency engine = Idempotency.builder(store).lease(Duration.ofMillis(600)).listener(event -> {
                    if (event.type() == IdempotencyEvent.Type.LEASE_RENEWED && first.getAndSet(false)) {
                        StuckListener.holdOn(release);
                    }
                }).build();
                Execution<String> execution = engine.operation("slow", String.class).begin("k", "h")) {
            try {
                awaitTrue("the slow listener is logged", Duration.ofSeconds(30),
                        () -> log.text().contains("has run for"));
                assertThat(log.text()).contains("A listener or observer has run for")
                        .contains("idempotency-renewal-").contains("StuckListener.holdOn(");
                assertThat(execution.isLeaseLost()).as("renewed meanwhile").isFalse();
            } finally {
                release.countDown();
            }
            assertThat(execution.complete("done")).isTrue();
        }
    }

    @Test
    @DisplayName("a lease-lost callback that is stuck is logged with where it is, and holds up neither renewal nor"
            + " the listeners")
    void stuckCallbackLogged() {
        CountDownLatch release = new CountDownLatch(1);
        Set<String> lost = ConcurrentHashMap.newKeySet();
        try (CapturedLog log = new CapturedLog(); Idempotency engine = engine(lost, event -> { })) {
            IdempotentOperation<String> op = engine.operation("stuck-callback", String.class);
            try (Execution<String> first = op.begin("first", "h"); Execution<String> second = op.begin("second", "h")) {
                try {
                    first.onLeaseLost(() -> StuckListener.holdOn(release));
                    op.forget("first");
                    awaitTrue("the stuck callback is logged", Duration.ofSeconds(30),
                            () -> log.text().contains("A lease-lost callback has run for"));
                    assertThat(log.text()).contains("idempotency-renewal-").contains("-callbacks")
                            .contains("StuckListener.holdOn(");
                    assertThat(lost).as("the loss reported to the listener meanwhile").contains("first");
                    assertThat(second.isLeaseLost()).as("renewed meanwhile").isFalse();
                } finally {
                    release.countDown();
                }
                assertThat(second.complete("done")).isTrue();
            }
        }
    }

    /** An engine with a 600 ms lease whose listener records the keys of lost leases, then calls {@code then}. */
    private Idempotency engine(Set<String> lost, IdempotencyListener then) {
        return Idempotency.builder(store).lease(Duration.ofMillis(600)).listener(event -> {
            if (event.type() == IdempotencyEvent.Type.LEASE_LOST) {
                lost.add(event.key());
            }
            then.onEvent(event);
        }).build();
    }

    /** Where the listeners and the callback above are stuck, by name, for the log to show. */
    private static final class StuckListener {
        static void holdOn(CountDownLatch release) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
