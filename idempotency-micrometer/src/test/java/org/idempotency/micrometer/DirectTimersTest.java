package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.idempotency.api.IdempotencyException;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Without observation handlers, the execution and store call timers are recorded directly, from cached meters,
 * with the same names, tags and counts as a meter handler makes of the observations.
 */
class DirectTimersTest {

    @Test
    @DisplayName("the timers recorded directly are those a meter handler makes of the observations, count for count")
    void sameTimersEitherWay() {
        SimpleMeterRegistry direct = new SimpleMeterRegistry();
        runEveryOutcome(IdempotencyMicrometer.builder().meterRegistry(direct));

        SimpleMeterRegistry observed = new SimpleMeterRegistry();
        ObservationRegistry observations = ObservationRegistry.create();
        observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(observed));
        runEveryOutcome(IdempotencyMicrometer.builder().observationRegistry(observations).meterRegistry(observed));

        Map<String, Long> timers = timers(direct);
        assertThat(timers).isEqualTo(timers(observed));
        assertThat(timers.keySet()).anyMatch(id -> id.contains("outcome=executed"))
                .anyMatch(id -> id.contains("outcome=replayed")).anyMatch(id -> id.contains("outcome=key-reused"))
                .anyMatch(id -> id.contains("outcome=in-progress")).anyMatch(id -> id.contains("outcome=released"))
                .anyMatch(id -> id.contains("outcome=failure-recorded"))
                .anyMatch(id -> id.contains("outcome=failure-replayed"))
                .anyMatch(id -> id.contains("outcome=not-kept")).anyMatch(id -> id.contains("outcome=store-error"))
                .anyMatch(id -> id.contains("outcome=unprotected")).anyMatch(id -> id.contains("call=find"));
    }

    @Test
    @DisplayName("an observation registry without handlers observes nothing, so the timers are recorded directly")
    void registryWithoutHandlers() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
                .observationRegistry(ObservationRegistry.create()).meterRegistry(meters).build();
        try (Idempotency engine = micrometer.instrument(Idempotency.builder(InMemoryIdempotencyStore.create())).build()) {
            engine.operation("charge", String.class).execute("k", "h", () -> "r");
        }
        assertThat(meters.get("idempotency.execution").tags("outcome", "executed").timer().count()).isEqualTo(1);
    }

    @Test
    @DisplayName("timers are registered once and reused; counters and the running timer exist from the operation's creation")
    void cachedMeters() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder().meterRegistry(meters).build();
        try (Idempotency engine = micrometer.instrument(Idempotency.builder(InMemoryIdempotencyStore.create())).build()) {
            IdempotentOperation<String> op = engine.operation("charge", String.class);
            assertThat(meters.get("idempotency.lease.takeovers").tags("operation", "charge", "store", "memory")
                    .counter().count()).isZero();
            assertThat(meters.get("idempotency.lease.renewals").counter().count()).isZero();
            assertThat(meters.get("idempotency.lease.losses").counter().count()).isZero();
            assertThat(meters.get("idempotency.executions.leaked").counter().count()).isZero();
            assertThat(meters.get("idempotency.executions.running").longTaskTimer().activeTasks()).isZero();

            op.execute("a", "h", () -> "r");
            int registered = meters.getMeters().size();
            Timer executed = meters.get("idempotency.execution").tags("outcome", "executed").timer();
            for (int i = 0; i < 10; i++) {
                op.execute("k" + i, "h", () -> "r");
            }
            assertThat(meters.getMeters()).hasSize(registered);
            assertThat(meters.get("idempotency.execution").tags("outcome", "executed").timer()).isSameAs(executed);
            assertThat(executed.count()).isEqualTo(11);
            assertThat(executed.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS)).isPositive();
        }
    }

    /** Every outcome but those that need time to pass (lease lost, leaked), and a find. */
    private static void runEveryOutcome(IdempotencyMicrometer.Builder builder) {
        IdempotencyMicrometer micrometer = builder.storeName("memory").build();
        FaultInjectingStore store = FaultInjectingStore.wrap(InMemoryIdempotencyStore.create());
        try (Idempotency closed = micrometer.instrument(Idempotency.builder(store).purgeInterval(Duration.ZERO)
                        .permanentFailure(e -> e instanceof IllegalArgumentException).maxResultBytes(16)).build();
                Idempotency open = micrometer.instrument(Idempotency.builder(store).purgeInterval(Duration.ZERO)
                        .failOpen(true)).build()) {
            IdempotentOperation<String> op = closed.operation("charge", String.class);
            op.execute("a", "h", () -> "r");
            op.execute("a", "h", () -> "r");
            assertThatThrownBy(() -> op.execute("a", "other", () -> "r")).isInstanceOf(IdempotencyException.class);
            try (Execution<String> held = op.begin("b", "h")) {
                assertThatThrownBy(() -> op.execute("b", "h", () -> "r")).isInstanceOf(IdempotencyException.class);
                held.complete("r");
            }
            assertThatThrownBy(() -> op.execute("c", "h", () -> {
                throw new IllegalStateException("transient");
            })).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> op.execute("d", "h", () -> {
                throw new IllegalArgumentException("permanent");
            })).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> op.execute("d", "h", () -> "r")).isInstanceOf(IdempotencyException.class);
            op.execute("e", "h", () -> "a result over sixteen bytes");
            op.find("a");
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            assertThatThrownBy(() -> op.execute("f", "h", () -> "r")).isInstanceOf(IdempotencyException.class);
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            assertThat(open.operation("charge", String.class).execute("g", "h", () -> "r")).isEqualTo("r");
        }
    }

    /** The execution and store call timers: name and sorted tags, and how many calls each counted. */
    private static Map<String, Long> timers(MeterRegistry registry) {
        return registry.getMeters().stream().filter(Timer.class::isInstance)
                .filter(meter -> meter.getId().getName().startsWith("idempotency."))
                .collect(Collectors.toMap(DirectTimersTest::describe, meter -> ((Timer) meter).count(), Long::sum,
                        TreeMap::new));
    }

    private static String describe(Meter meter) {
        return meter.getId().getName() + meter.getId().getTags().stream().map(tag -> tag.getKey() + "=" + tag.getValue())
                .collect(Collectors.joining(",", "{", "}"));
    }
}
