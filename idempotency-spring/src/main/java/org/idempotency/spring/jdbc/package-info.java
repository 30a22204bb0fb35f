/**
 * Exactly-once with the SQL store and Spring-managed transactions:
 * {@link org.idempotency.spring.jdbc.JdbiTransactionalCompletion}.
 */
@NullMarked
package org.idempotency.spring.jdbc;

import org.jspecify.annotations.NullMarked;
