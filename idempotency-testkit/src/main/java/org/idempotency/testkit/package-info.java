/**
 * Contract tests for idempotency stores, and fault injection. Extend
 * {@link org.idempotency.testkit.IdempotencyStoreContract} and
 * {@link org.idempotency.testkit.IdempotencyExecutionContract} with a few lines each.
 */
@NullMarked
package org.idempotency.testkit;

import org.jspecify.annotations.NullMarked;
