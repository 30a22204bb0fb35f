/**
 * The implementation of {@link org.idempotency.spring.Idempotent}: the interceptor, method plans, proxy checks,
 * transaction synchronization and web support. Not an API: no compatibility across versions.
 */
@NullMarked
package org.idempotency.spring.internal;

import org.jspecify.annotations.NullMarked;
