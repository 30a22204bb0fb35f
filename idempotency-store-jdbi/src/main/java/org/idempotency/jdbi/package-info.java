/**
 * The SQL idempotency store on Jdbi 3 (PostgreSQL, MariaDB): start with
 * {@link org.idempotency.jdbi.JdbiIdempotencyStore#builder}, and use
 * {@link org.idempotency.jdbi.JdbiIdempotencyStore#transactional} when the work writes to the same database.
 */
@NullMarked
package org.idempotency.jdbi;

import org.jspecify.annotations.NullMarked;
