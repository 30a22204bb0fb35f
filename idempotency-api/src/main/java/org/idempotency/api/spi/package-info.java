/**
 * The store SPI: what a store implements ({@link org.idempotency.api.spi.IdempotencyStore}, optional
 * abilities as separate interfaces) and how it is discovered ({@link
 * org.idempotency.api.spi.IdempotencyStoreProvider}). Stores are checked by the contract test kit in
 * {@code idempotency-testkit}.
 */
@NullMarked
package org.idempotency.api.spi;

import org.jspecify.annotations.NullMarked;
