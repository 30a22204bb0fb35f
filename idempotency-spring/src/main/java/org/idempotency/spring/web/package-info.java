/**
 * Controller support: problem+json answers for idempotency failures in Spring MVC
 * ({@link org.idempotency.spring.web.IdempotencyProblemHandler}), and what a {@code ResponseEntity} result is
 * stored as ({@link org.idempotency.spring.web.StoredEntity}).
 */
@NullMarked
package org.idempotency.spring.web;

import org.jspecify.annotations.NullMarked;
