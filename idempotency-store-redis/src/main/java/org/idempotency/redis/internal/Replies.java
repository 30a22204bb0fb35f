package org.idempotency.redis.internal;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
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

    /** The outcome of {@link RedisScripts#ACQUIRE}. */
    public static AcquireResult acquireResult(String key, @Nullable List<Object> reply) {
        if (reply == null || reply.isEmpty()) {
            throw unexpected(key, "an empty acquire reply");
        }
        if (asLong(key, reply.get(0)) == 1) {
            if (reply.size() != 3) {
                throw unexpected(key, "an acquire reply of " + reply.size() + " elements");
            }
            return new AcquireResult.Acquired(asLong(key, reply.get(1)), asLong(key, reply.get(2)) == 1);
        }
        return new AcquireResult.Existing(record(key, reply, 1));
    }

    /** The record in a {@link RedisScripts#FIND} reply, or {@code null} if there is none. */
    public static @Nullable IdempotencyRecord findResult(String key, @Nullable List<Object> reply) {
        if (reply == null || reply.isEmpty()) {
            return null;
        }
        return record(key, reply, 0);
    }

    /** Whether an integer reply of a conditional script says it changed the record. */
    public static boolean changed(String key, @Nullable Object reply) {
        if (reply == null) {
            throw unexpected(key, "a nil reply");
        }
        return asLong(key, reply) == 1;
    }

    private static IdempotencyRecord record(String key, List<Object> reply, int offset) {
        if (reply.size() != offset + RedisScripts.RECORD_FIELDS.size()) {
            throw unexpected(key, "a record reply of " + reply.size() + " elements");
        }
        String status = text(reply.get(offset));
        long token = asLong(key, reply.get(offset + 1));
        Instant expiresAt = Instant.ofEpochMilli(asLong(key, reply.get(offset + 2)));
        Object lease = reply.get(offset + 3);
        String hash = text(reply.get(offset + 4));
        Object code = reply.get(offset + 5);
        byte[] payload = (byte[]) reply.get(offset + 6);
        String errorType = text(reply.get(offset + 7));
        String errorMessage = text(reply.get(offset + 8));
        try {
            if ("IN_PROGRESS".equals(status)) {
                if (lease == null) {
                    throw unexpected(key, "an in-progress record without a lease");
                }
                return IdempotencyRecord.inProgress(key, hash, token, Instant.ofEpochMilli(asLong(key, lease)),
                        expiresAt);
            }
            if ("COMPLETED".equals(status)) {
                int statusCode = code == null ? 0 : Math.toIntExact(asLong(key, code));
                return IdempotencyRecord.completed(key, hash, token, new StoredResult(payload, statusCode), expiresAt);
            }
            if ("FAILED".equals(status) && errorType != null) {
                return IdempotencyRecord.failed(key, hash, token, new StoredFailure(errorType, errorMessage),
                        expiresAt);
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new IdempotencyStoreException("Redis holds a malformed idempotency record", key, e);
        }
        throw unexpected(key, "a record with status '" + status + "'");
    }

    private static @Nullable String text(@Nullable Object value) {
        return value == null ? null : new String((byte[]) value, StandardCharsets.UTF_8);
    }

    private static long asLong(String key, @Nullable Object value) {
        if (value instanceof Long number) {
            return number;
        }
        if (value instanceof byte[] bytes) {
            try {
                return Long.parseLong(new String(bytes, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw new IdempotencyStoreException("Redis holds a malformed idempotency record", key, e);
            }
        }
        throw unexpected(key, "a " + (value == null ? "nil" : value.getClass().getSimpleName()) + " value");
    }

    private static IdempotencyStoreException unexpected(String key, String what) {
        return new IdempotencyStoreException("Unexpected reply from the Redis store script: " + what
                + "; is another application writing to this key prefix?", key, null);
    }
}
