/**
 * The HTTP adapter: {@link org.idempotency.servlet.IdempotencyFilter}, a servlet filter that makes
 * non-idempotent requests carrying an {@code Idempotency-Key} header safe to retry, with the pluggable
 * {@link org.idempotency.servlet.IdempotencyScope} and {@link org.idempotency.servlet.RequestFingerprint}.
 */
@NullMarked
package org.idempotency.servlet;

import org.jspecify.annotations.NullMarked;
