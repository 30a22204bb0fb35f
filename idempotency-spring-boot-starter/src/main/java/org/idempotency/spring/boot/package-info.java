/**
 * The Spring Boot starter's auto-configuration: {@link org.idempotency.spring.boot.IdempotencyAutoConfiguration}
 * and its properties ({@link org.idempotency.spring.boot.IdempotencyProperties}), the web, Actuator and Kafka
 * auto-configurations.
 */
@NullMarked
package org.idempotency.spring.boot;

import org.jspecify.annotations.NullMarked;
