package org.idempotency.spring.boot.actuate;

import java.util.Objects;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The store's health for Spring Boot 4's Actuator ({@code idempotency} in {@code /actuator/health}): up when the
 * store answers a lookup, with the store and the lookup's time; down with the error otherwise.
 *
 * <p>Thread-safe.
 */
public class IdempotencyHealthIndicator extends AbstractHealthIndicator {

    private final IdempotencyStoreHealth health;

    /**
     * An indicator over the store's health check.
     *
     * @param health the check
     */
    public IdempotencyHealthIndicator(IdempotencyStoreHealth health) {
        super("The idempotency store is not reachable");
        this.health = Objects.requireNonNull(health, "health must not be null");
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        builder.up().withDetails(health.check());
    }
}
