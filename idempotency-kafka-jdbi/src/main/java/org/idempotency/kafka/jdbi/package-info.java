/**
 * Kafka records whose effects are writes to the SQL store's database, made exactly once: start with
 * {@link org.idempotency.kafka.jdbi.TransactionalRecordHandler#builder}.
 */
@NullMarked
package org.idempotency.kafka.jdbi;

import org.jspecify.annotations.NullMarked;
