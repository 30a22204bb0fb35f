package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Duration;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.micrometer.internal.Instrumentation;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IdempotencyMicrometerTest {

    @Test
    @DisplayName("a builder without any registry is refused, saying what it needs")
    void needsARegistry() {
        assertThatThrownBy(() -> IdempotencyMicrometer.builder().build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("observationRegistry, a meterRegistry or both");
        assertThatThrownBy(() -> IdempotencyMicrometer.builder().meterRegistry(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("meterRegistry");
    }

    @Test
    @DisplayName("a store name must be a low-cardinality tag value; the refusal names the rule and the value")
    void storeNameRule() {
        assertThatThrownBy(() -> IdempotencyMicrometer.builder().storeName("Redis Cluster"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a-z 0-9 . _ -").hasMessageContaining("'Redis Cluster'");
        assertThatThrownBy(() -> IdempotencyMicrometer.builder().storeName(""))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(IdempotencyMicrometer.builder().meterRegistry(new SimpleMeterRegistry()).storeName("redis-eu.1")
                .build()).isNotNull();
    }

    @Test
    @DisplayName("stores are named as their providers are, others by their class")
    void storeNames() {
        assertThat(Instrumentation.nameOf(InMemoryIdempotencyStore.create())).isEqualTo("memory");
        assertThat(Instrumentation.nameOf(FaultInjectingStore.wrap(InMemoryIdempotencyStore.create())))
                .isEqualTo("faultinjecting");
    }

    @Test
    @DisplayName("one instrumentation serves several engines; their operations and stores are told apart by tags")
    void severalEngines() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
                .observationRegistry(ObservationRegistry.NOOP).meterRegistry(meters).build();
        try (Idempotency memory = micrometer.instrument(Idempotency.builder(InMemoryIdempotencyStore.create()))
                        .build();
                Idempotency wrapped = micrometer.instrument(Idempotency.builder(
                        FaultInjectingStore.wrap(InMemoryIdempotencyStore.create())).purgeInterval(Duration.ZERO))
                        .build()) {
            memory.operation("charge", String.class).execute("k", "h", () -> "r");
            wrapped.operation("charge", String.class).execute("k", "h", () -> "r");
            wrapped.operation("refund", String.class).execute("k", "h", () -> "r");
        }
        assertThat(meters.get("idempotency.execution").tags("operation", "charge", "store", "memory").timer().count())
                .isEqualTo(1);
        assertThat(meters.get("idempotency.execution").tags("operation", "charge", "store", "faultinjecting").timer()
                .count()).isEqualTo(1);
        assertThat(meters.get("idempotency.execution").tags("operation", "refund").timer().count()).isEqualTo(1);
        assertThat(meters.get("idempotency.lease.takeovers").counters()).hasSize(3);
    }
}
