package org.idempotency.spring;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.core.Idempotency;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;

/**
 * The engines {@link Idempotent} methods run on: the application's default {@link Idempotency}, and variants
 * with another lease, retention or in-progress wait for methods that ask for one. A variant is built once per
 * distinct combination, from a builder that is configured like the default engine (same store, codec,
 * listeners and other settings), and closed with this object; the default engine is not closed here, because
 * the application owns it.
 *
 * <p>Each engine renews leases on threads of its own, so keep the number of distinct combinations small.
 *
 * <p>Thread-safe.
 */
public final class IdempotencyEngines implements DisposableBean {

    private final Idempotency defaultEngine;
    private final @Nullable Supplier<Idempotency.Builder> builders;
    private final Map<Settings, Idempotency> variants = new ConcurrentHashMap<>();

    /**
     * Engines with variants.
     *
     * @param defaultEngine the engine of methods that override nothing
     * @param builders builders configured like the default engine, one per call, for the variants; or
     *     {@code null} if methods may not override the engine's settings
     */
    public IdempotencyEngines(Idempotency defaultEngine, @Nullable Supplier<Idempotency.Builder> builders) {
        this.defaultEngine = Objects.requireNonNull(defaultEngine, "defaultEngine must not be null");
        this.builders = builders;
    }

    /**
     * Only the default engine: methods that set a lease, a retention or a wait are refused when the context
     * starts.
     *
     * @param defaultEngine the engine
     * @return the engines
     */
    public static IdempotencyEngines of(Idempotency defaultEngine) {
        return new IdempotencyEngines(defaultEngine, null);
    }

    /**
     * The default engine.
     *
     * @return the engine of methods that override nothing
     */
    public Idempotency defaultEngine() {
        return defaultEngine;
    }

    /**
     * The engine for a method's settings: the default one if it overrides nothing, otherwise a variant.
     *
     * @param lease the method's lease, or {@code null} for the default's
     * @param retention the method's retention, or {@code null} for the default's
     * @param waitForInProgress the method's wait, or {@code null} for the default's
     * @return the engine
     * @throws IdempotencyConfigurationException if variants are not available, or the settings do not fit together
     *     (a lease longer than the retention, for example)
     */
    public Idempotency engine(@Nullable Duration lease, @Nullable Duration retention,
            @Nullable Duration waitForInProgress) {
        if (lease == null && retention == null && waitForInProgress == null) {
            return defaultEngine;
        }
        Settings settings = new Settings(lease, retention, waitForInProgress);
        Idempotency engine = variants.get(settings);
        if (engine != null) {
            return engine;
        }
        synchronized (variants) {
            return variants.computeIfAbsent(settings, this::build);
        }
    }

    private Idempotency build(Settings settings) {
        if (builders == null) {
            throw new IdempotencyConfigurationException("Idempotent methods cannot set their own lease, retention or"
                    + " wait here: the IdempotencyEngines bean was created without builders for variants; define"
                    + " it with new IdempotencyEngines(engine, builders), or remove " + settings + " from the"
                    + " annotation", null);
        }
        Idempotency.Builder builder = builders.get();
        if (settings.lease() != null) {
            builder.lease(settings.lease());
        }
        if (settings.retention() != null) {
            builder.retention(settings.retention());
        }
        if (settings.waitForInProgress() != null) {
            builder.waitForInProgress(settings.waitForInProgress());
        }
        try {
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw new IdempotencyConfigurationException("The settings " + settings + " do not fit the engine's: "
                    + e.getMessage(), e);
        }
    }

    /** Closes the variants built here; the default engine belongs to the application. */
    @Override
    public void destroy() {
        List<Idempotency> built = List.copyOf(variants.values());
        variants.clear();
        built.forEach(Idempotency::close);
    }

    private record Settings(@Nullable Duration lease, @Nullable Duration retention,
            @Nullable Duration waitForInProgress) {
        @Override
        public String toString() {
            StringBuilder text = new StringBuilder();
            if (lease != null) {
                text.append("lease=").append(lease);
            }
            if (retention != null) {
                text.append(text.length() > 0 ? ", " : "").append("retention=").append(retention);
            }
            if (waitForInProgress != null) {
                text.append(text.length() > 0 ? ", " : "").append("waitForInProgress=").append(waitForInProgress);
            }
            return text.toString();
        }
    }
}
