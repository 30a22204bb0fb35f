/** Kafka support: {@link org.idempotency.spring.boot.kafka.IdempotentConsumerLoops} runs consumer loop beans. */
@NullMarked
package org.idempotency.spring.boot.kafka;

import org.jspecify.annotations.NullMarked;
