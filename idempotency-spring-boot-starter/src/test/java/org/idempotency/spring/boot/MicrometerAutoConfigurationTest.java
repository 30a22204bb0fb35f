package org.idempotency.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.idempotency.core.Idempotency;
import org.idempotency.micrometer.IdempotencyMicrometer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The starter instruments its engines with idempotency-micrometer when the application has registries. */
class MicrometerAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(IdempotencyAutoConfiguration.class,
                    IdempotencyMicrometerAutoConfiguration.class))
            .withPropertyValues("idempotency.store=memory");

    @Configuration(proxyBeanMethods = false)
    static class Registries {
        @Bean
        MeterRegistry meterRegistry() {
            return new SimpleMeterRegistry();
        }

        @Bean
        ObservationRegistry observationRegistry(MeterRegistry meters) {
            ObservationRegistry registry = ObservationRegistry.create();
            registry.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
            return registry;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnInstrumentation {
        @Bean
        IdempotencyMicrometer idempotencyMicrometer(MeterRegistry meters) {
            return IdempotencyMicrometer.builder().meterRegistry(meters).storeName("orders-store").build();
        }
    }

    @Test
    @DisplayName("with the application's registries, every outcome of the starter's engine is measured")
    void instrumented() {
        runner.withUserConfiguration(Registries.class).run(context -> {
            run(context.getBean(Idempotency.class));
            MeterRegistry meters = context.getBean(MeterRegistry.class);
            assertThat(meters.get("idempotency.execution").tag("outcome", "executed").timer().count()).isEqualTo(1);
            assertThat(meters.get("idempotency.execution").tag("outcome", "replayed").timer().count()).isEqualTo(1);
        });
    }

    @Test
    @DisplayName("an IdempotencyMicrometer bean of the application's is the one installed")
    void backsOff() {
        runner.withUserConfiguration(Registries.class, OwnInstrumentation.class).run(context -> {
            run(context.getBean(Idempotency.class));
            assertThat(context.getBean(MeterRegistry.class).get("idempotency.execution")
                    .tag("store", "orders-store").timers()).as("the executed and the replayed call")
                    .extracting(timer -> timer.getId().getTag("outcome") + "=" + timer.count())
                    .containsExactlyInAnyOrder("executed=1", "replayed=1");
        });
    }

    @Test
    @DisplayName("without registries, or when turned off, the engine runs uninstrumented")
    void withoutRegistries() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            run(context.getBean(Idempotency.class));
        });
        runner.withUserConfiguration(Registries.class).withPropertyValues("idempotency.metrics.enabled=false")
                .run(context -> {
                    run(context.getBean(Idempotency.class));
                    assertThat(context.getBean(MeterRegistry.class).find("idempotency.execution").timers()).isEmpty();
                });
    }

    private static void run(Idempotency idempotency) {
        var op = idempotency.operation("metered", String.class);
        assertThat(op.execute("k", "h", () -> "first")).isEqualTo("first");
        assertThat(op.execute("k", "h", () -> "second")).isEqualTo("first");
    }
}
