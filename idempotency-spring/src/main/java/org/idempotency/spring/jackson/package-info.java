/**
 * The codec and the request hasher on an application's Jackson 3 mapper (Spring Boot 4):
 * {@link org.idempotency.spring.jackson.Jackson3ResultCodec},
 * {@link org.idempotency.spring.jackson.Jackson3RequestHasher}.
 */
@NullMarked
package org.idempotency.spring.jackson;

import org.jspecify.annotations.NullMarked;
