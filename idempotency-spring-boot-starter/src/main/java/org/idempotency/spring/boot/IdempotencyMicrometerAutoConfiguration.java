package org.idempotency.spring.boot;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.idempotency.micrometer.IdempotencyMicrometer;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of metrics and traces: when {@code idempotency-micrometer} is on the class path, every engine
 * the starter builds (the default one and the variants of {@code @Idempotent} methods with settings of their own)
 * is instrumented with one {@link IdempotencyMicrometer}, on the application's {@link ObservationRegistry} and
 * {@link MeterRegistry} beans, whichever exist (Spring Boot's Actuator defines both). Without either, nothing is
 * instrumented. Define an {@code IdempotencyMicrometer} bean to choose conventions or the store's tag yourself;
 * {@code idempotency.metrics.enabled=false} turns it off.
 */
@AutoConfiguration(before = IdempotencyAutoConfiguration.class)
@ConditionalOnClass({IdempotencyMicrometer.class, ObservationRegistry.class, MeterRegistry.class})
@ConditionalOnProperty(name = "idempotency.metrics.enabled", matchIfMissing = true)
public class IdempotencyMicrometerAutoConfiguration {

    /** For Spring. */
    public IdempotencyMicrometerAutoConfiguration() {
    }

    /**
     * Installs the instrumentation on every engine the starter builds. The registries are looked up when the first
     * engine is built, whatever the order of auto-configurations; one instrumentation serves every engine.
     *
     * @param application an {@code IdempotencyMicrometer} bean of the application's, if any
     * @param observations the observation registry, if any
     * @param meters the meter registry, if any
     * @return the customizer
     */
    @Bean
    @ConditionalOnMissingBean(name = "idempotencyMicrometerCustomizer")
    public IdempotencyBuilderCustomizer idempotencyMicrometerCustomizer(
            ObjectProvider<IdempotencyMicrometer> application, ObjectProvider<ObservationRegistry> observations,
            ObjectProvider<MeterRegistry> meters) {
        return new MicrometerCustomizer(application, observations, meters);
    }

    /** Builds the instrumentation once, on first use, and installs it on each engine's builder. */
    private static final class MicrometerCustomizer implements IdempotencyBuilderCustomizer {
        private final ObjectProvider<IdempotencyMicrometer> application;
        private final ObjectProvider<ObservationRegistry> observations;
        private final ObjectProvider<MeterRegistry> meters;
        private volatile boolean resolved;
        private volatile IdempotencyMicrometer micrometer;

        MicrometerCustomizer(ObjectProvider<IdempotencyMicrometer> application,
                ObjectProvider<ObservationRegistry> observations, ObjectProvider<MeterRegistry> meters) {
            this.application = application;
            this.observations = observations;
            this.meters = meters;
        }

        @Override
        public void customize(org.idempotency.core.Idempotency.Builder builder) {
            IdempotencyMicrometer instrumentation = resolve();
            if (instrumentation != null) {
                instrumentation.instrument(builder);
            }
        }

        private synchronized IdempotencyMicrometer resolve() {
            if (!resolved) {
                micrometer = application.getIfAvailable(() -> {
                    ObservationRegistry observationRegistry = observations.getIfUnique();
                    MeterRegistry meterRegistry = meters.getIfUnique();
                    if (observationRegistry == null && meterRegistry == null) {
                        return null;
                    }
                    IdempotencyMicrometer.Builder micrometerBuilder = IdempotencyMicrometer.builder();
                    if (observationRegistry != null) {
                        micrometerBuilder.observationRegistry(observationRegistry);
                    }
                    if (meterRegistry != null) {
                        micrometerBuilder.meterRegistry(meterRegistry);
                    }
                    return micrometerBuilder.build();
                });
                resolved = true;
            }
            return micrometer;
        }
    }
}
