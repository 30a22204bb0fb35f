package org.idempotency.redis.internal;

import java.util.List;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.spi.AcquireResult;
import org.jspecify.annotations.Nullable;

/**
 * Turns the replies of {@link RedisScripts} into SPI values. Script replies arrive through a byte-array
 * codec: bulk strings as {@code byte[]}, integers as {@link Long}, nil as {@code null}.
 *
 * <p>Stateless and thread-safe.
 */
public final class Replies {

    private Replies() {
    }

    /**
     * The outcome of {@link RedisScripts#ACQUIRE}: the token when the caller owns the key (negated after a
     * takeover), or the record that holds it.
     */
    public static AcquireResult acquireResult(String key, @Nullable Object reply) {
        if (reply instanceof Long token) {
            if (token > 0) {
                return new AcquireResult.Acquired(token, false);
            }
            if (token < 0 && token != Long.MIN_VALUE) {
                return new AcquireResult.Acquired(-token, true);
            }
            throw unexpected(key, "an acquire reply of token " + token);
        }
        if (reply instanceof byte[] value) {
            return new AcquireResult.Existing(RecordFormat.record(key, value));
        }
        throw unexpected(key, "an acquire reply of a " + typeOf(reply));
    }

    /** The record in a {@link RedisScripts#FIND} reply ({@code {record}} or empty), or {@code null}. */
    public static @Nullable IdempotencyRecord findResult(String key, @Nullable List<Object> reply) {
        if (reply == null || reply.isEmpty()) {
            return null;
        }
        if (reply.get(0) instanceof byte[] value) {
            return RecordFormat.record(key, value);
        }
        throw unexpected(key, "a find reply without a record");
    }

    /** Whether an integer reply of a conditional script says it changed the record. */
    public static boolean changed(String key, @Nullable Object reply) {
        return asLong(key, reply) == 1;
    }

    private static long asLong(String key, @Nullable Object value) {
        if (value instanceof Long number) {
            return number;
        }
        throw unexpected(key, "a " + typeOf(value) + " value");
    }

    private static String typeOf(@Nullable Object value) {
        return value == null ? "nil" : value.getClass().getSimpleName();
    }

    private static IdempotencyStoreException unexpected(String key, String what) {
        return new IdempotencyStoreException("Unexpected reply from the Redis store script: " + what
                + "; is another application writing under this key prefix?", key, null);
    }
}
