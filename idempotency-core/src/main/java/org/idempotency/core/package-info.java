/**
 * The idempotency engine and its helpers. Start with {@link org.idempotency.core.Idempotency}.
 */
@NullMarked
package org.idempotency.core;

import org.jspecify.annotations.NullMarked;
