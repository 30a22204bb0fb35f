package org.idempotency.micrometer;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.util.Objects;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyObserver;
import org.idempotency.micrometer.internal.Instrumentation;
import org.jspecify.annotations.Nullable;

/**
 * Metrics and traces for an idempotency engine, on Micrometer: an observation per execution and per store call,
 * counters for takeovers, lease renewals, lost leases and leaked executions, a long task timer of executions in
 * flight, and a counter of purged records. Install it on the engine's builder:
 *
 * <pre>{@code
 * IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
 *         .observationRegistry(observationRegistry) // spans and timers, through its handlers
 *         .meterRegistry(meterRegistry)             // counters; the timers too when nothing is observed
 *         .build();
 * Idempotency idempotency = micrometer.instrument(Idempotency.builder(store)).build();
 * }</pre>
 *
 * <p><b>Observations or timers.</b> When the {@link ObservationRegistry} has handlers, every execution is an
 * {@code idempotency.execution} observation and every store call an {@code idempotency.store.call} observation,
 * a child of its execution's: a meter handler (as Spring Boot installs) makes timers of them, Micrometer Tracing
 * makes spans. Otherwise, with a {@link MeterRegistry}, the same timers (same names, same tags) are recorded
 * directly from meters cached per operation, outcome, call and result, which costs far less than an observation.
 * The choice is Micrometer's own rule for instrumentation that supports both, made per call.
 *
 * <p><b>What is never recorded.</b> The engine never tells the observer a key, a request hash, a result or a
 * payload. Exceptions of this library, which name the key in their message, and store drivers' exceptions, which
 * may quote it, are recorded as copies of the same type without the message; what the work itself throws is
 * recorded as it is (keep keys and bodies out of your own exception messages).
 *
 * <p>One instance may serve several engines: operations are told apart by name and store. Thread-safe.
 */
public final class IdempotencyMicrometer implements IdempotencyObserver {

    private final Instrumentation instrumentation;

    private IdempotencyMicrometer(Builder builder) {
        this.instrumentation = new Instrumentation(builder.observationRegistry, builder.meterRegistry,
                builder.executionConvention, builder.storeCallConvention, builder.storeName);
    }

    /**
     * Starts configuring an instrumentation; give it an observation registry, a meter registry or both.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Installs this instrumentation on an engine's builder, as its {@link Idempotency.Builder#observer observer}.
     *
     * @param engine the builder of the engine to observe
     * @return the same builder
     */
    public Idempotency.Builder instrument(Idempotency.Builder engine) {
        return Objects.requireNonNull(engine, "engine must not be null").observer(this);
    }

    @Override
    public OperationObserver operation(String operation, IdempotencyStore store) {
        return instrumentation.operation(operation, store);
    }

    @Override
    public StoreCallObservation storeCall(StoreCall call, IdempotencyStore store) {
        return instrumentation.storeCall(call, store);
    }

    /** Configures an {@link IdempotencyMicrometer}. Each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private @Nullable ObservationRegistry observationRegistry;
        private @Nullable MeterRegistry meterRegistry;
        private @Nullable IdempotencyExecutionConvention executionConvention;
        private @Nullable IdempotencyStoreCallConvention storeCallConvention;
        private @Nullable String storeName;

        private Builder() {
        }

        /**
         * Where executions and store calls are observed: its handlers make timers (a meter handler) and spans
         * (Micrometer Tracing). While it has no handler, nothing is observed, and the timers are recorded into the
         * meter registry instead.
         *
         * @param observationRegistry the registry
         * @return this builder
         */
        public Builder observationRegistry(ObservationRegistry observationRegistry) {
            this.observationRegistry = Objects.requireNonNull(observationRegistry,
                    "observationRegistry must not be null");
            return this;
        }

        /**
         * Where the counters and the long task timer are registered (see {@link IdempotencyMeterDocumentation}),
         * and the execution and store call timers when nothing is observed.
         *
         * @param meterRegistry the registry
         * @return this builder
         */
        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry must not be null");
            return this;
        }

        /**
         * Replaces the default names and tags of execution observations (a convention registered on the
         * observation registry takes precedence over the default one too).
         *
         * @param convention the convention
         * @return this builder
         */
        public Builder executionConvention(IdempotencyExecutionConvention convention) {
            this.executionConvention = Objects.requireNonNull(convention, "executionConvention must not be null");
            return this;
        }

        /**
         * Replaces the default names and tags of store call observations.
         *
         * @param convention the convention
         * @return this builder
         */
        public Builder storeCallConvention(IdempotencyStoreCallConvention convention) {
            this.storeCallConvention = Objects.requireNonNull(convention, "storeCallConvention must not be null");
            return this;
        }

        /**
         * The {@code store} tag of every store this instrumentation observes (default: the store's class, as the
         * store providers name them: {@code memory}, {@code redis}, {@code jdbi}; another class by its simple name
         * without {@code IdempotencyStore}, in lower case).
         *
         * @param storeName 1 to 64 characters of {@code a-z 0-9 . _ -}
         * @return this builder
         * @throws IllegalArgumentException if the name breaks the rule
         */
        public Builder storeName(String storeName) {
            Objects.requireNonNull(storeName, "storeName must not be null");
            if (!storeName.matches("[a-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException("storeName must be 1 to 64 characters of a-z 0-9 . _ - (a"
                        + " low-cardinality tag value), was '" + storeName + "'");
            }
            this.storeName = storeName;
            return this;
        }

        /**
         * Builds the instrumentation.
         *
         * @return the instrumentation, to install on engines with {@link IdempotencyMicrometer#instrument}
         * @throws IllegalStateException if neither an observation registry nor a meter registry was given
         */
        public IdempotencyMicrometer build() {
            if (observationRegistry == null && meterRegistry == null) {
                throw new IllegalStateException("IdempotencyMicrometer needs an observationRegistry, a meterRegistry"
                        + " or both: with neither there is nowhere to record");
            }
            return new IdempotencyMicrometer(this);
        }
    }
}
