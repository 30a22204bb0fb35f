/**
 * The Redis store: {@link org.idempotency.redis.RedisIdempotencyStore}, one Lua script per operation on one
 * key, Redis server time, native expiry, binary-safe results and batch acquire.
 */
@NullMarked
package org.idempotency.redis;

import org.jspecify.annotations.NullMarked;
