package org.idempotency.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.context.annotation.Import;

/**
 * Turns on {@link Idempotent} for the beans of a plain Spring application context (Spring Boot applications
 * get it from the starter). The context must hold an {@link org.idempotency.core.Idempotency} bean; it may
 * hold an {@link IdempotencyEngines} bean (for per-method leases, retentions and waits), a
 * {@link RequestHasher} and a {@link TransactionalCompletion}.
 *
 * <pre>{@code
 * @Configuration
 * @EnableIdempotency
 * class IdempotencyConfig {
 *     @Bean
 *     Idempotency idempotency(IdempotencyStore store) {
 *         return Idempotency.builder(store).build();
 *     }
 * }
 * }</pre>
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Import(IdempotencyConfiguration.class)
public @interface EnableIdempotency {
}
