package org.idempotency.spring.boot;

import org.idempotency.core.Idempotency;

/**
 * Customizes the engine the starter builds, after the {@code idempotency.*} properties are applied: for settings
 * that are code, such as {@code permanentFailure} predicates. Every customizer bean is applied, in order, to the
 * default engine and to the variants of methods with their own lease, retention or wait.
 */
@FunctionalInterface
public interface IdempotencyBuilderCustomizer {

    /**
     * Customizes a builder.
     *
     * @param builder the builder, with the properties applied
     */
    void customize(Idempotency.Builder builder);
}
