/**
 * Implementation details of the Kafka module: not API, and left out of its Javadoc. The module is an automatic
 * module, so Java exports this package too; nothing outside the module should use it.
 */
@NullMarked
package org.idempotency.kafka.internal;

import org.jspecify.annotations.NullMarked;
