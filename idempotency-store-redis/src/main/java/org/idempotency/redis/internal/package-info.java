/** Implementation details of the Redis store (scripts, reply decoding, the provider); not exported, not API. */
@NullMarked
package org.idempotency.redis.internal;

import org.jspecify.annotations.NullMarked;
