/**
 * Micrometer instrumentation of the idempotency engine. {@link org.idempotency.micrometer.IdempotencyMicrometer}
 * is the entry point; the observations it makes are described by {@link
 * org.idempotency.micrometer.IdempotencyObservationDocumentation}, the meters it registers by {@link
 * org.idempotency.micrometer.IdempotencyMeterDocumentation}. Their tags are shaped by the conventions here, which
 * applications may replace.
 */
@NullMarked
package org.idempotency.micrometer;

import org.jspecify.annotations.NullMarked;
