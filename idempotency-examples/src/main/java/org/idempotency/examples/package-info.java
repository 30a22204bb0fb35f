/** The order-service demo. Start with {@link org.idempotency.examples.Demo}. */
@NullMarked
package org.idempotency.examples;

import org.jspecify.annotations.NullMarked;
