/** The implementation of the Micrometer instrumentation; not exported. */
@NullMarked
package org.idempotency.micrometer.internal;

import org.jspecify.annotations.NullMarked;
