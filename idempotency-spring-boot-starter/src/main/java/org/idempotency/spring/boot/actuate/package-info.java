/**
 * Actuator support: the {@code idempotency} endpoint (look up a key's record, forget a key stuck in progress) and
 * the store's health indicator, for Spring Boot 4 and 3.
 */
@NullMarked
package org.idempotency.spring.boot.actuate;

import org.jspecify.annotations.NullMarked;
