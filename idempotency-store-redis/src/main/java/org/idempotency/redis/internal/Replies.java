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

    /** The outcome of {@link RedisScripts#ACQUIRE}: {@code {1, token, takeover}} or {@code {0, record}}. */
    public static AcquireResult acquireResult(String key, @Nullable List<Object> reply) {
        if (reply == null || reply.isEmpty()) {
            throw unexpected(key, "an empty acquire reply");
        }
        if (asLong(key, reply.get(0)) == 1 && reply.size() == 3) {
            return new AcquireResult.Acquired(asLong(key, reply.get(1)), asLong(key, reply.get(2)) == 1);
        }
        if (reply.size() == 2 && reply.get(1) instanceof byte[] value) {
            return new AcquireResult.Existing(RecordFormat.record(key, value));
        }
        throw unexpected(key, "an acquire reply of " + reply.size() + " elements");
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
        throw unexpected(key, "a " + (value == null ? "nil" : value.getClass().getSimpleName()) + " value");
    }

    private static IdempotencyStoreException unexpected(String key, String what) {
        return new IdempotencyStoreException("Unexpected reply from the Redis store script: " + what
                + "; is another application writing under this key prefix?", key, null);
    }
}
