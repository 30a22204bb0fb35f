/** Implementation details of the Kafka module; not exported, not API. */
@NullMarked
package org.idempotency.kafka.internal;

import org.jspecify.annotations.NullMarked;
