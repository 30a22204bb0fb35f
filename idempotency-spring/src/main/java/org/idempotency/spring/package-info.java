/**
 * Spring support: {@link org.idempotency.spring.Idempotent} on any Spring bean, turned on by
 * {@link org.idempotency.spring.EnableIdempotency} (or the Spring Boot starter), with its collaborators
 * {@link org.idempotency.spring.IdempotencyEngines}, {@link org.idempotency.spring.RequestHasher} and
 * {@link org.idempotency.spring.TransactionalCompletion}.
 */
@NullMarked
package org.idempotency.spring;

import org.jspecify.annotations.NullMarked;
