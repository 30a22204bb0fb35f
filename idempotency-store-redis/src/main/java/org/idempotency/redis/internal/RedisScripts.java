package org.idempotency.redis.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The Lua scripts of the Redis store, one per store operation. Each script touches exactly one key,
 * {@code KEYS[1]}, so it runs unchanged on Redis Cluster, and reads the time with {@code TIME} on the server.
 *
 * <p>A record is a Redis hash with these fields (absent fields are {@code null}):
 * <ul>
 *   <li>{@code status}: {@code IN_PROGRESS}, {@code COMPLETED}, {@code FAILED}, or {@code RELEASED} for the
 *       tombstone a release leaves behind (treated as absent by every operation; it only keeps the last token);</li>
 *   <li>{@code token}: the fencing token, a decimal integer;</li>
 *   <li>{@code lease_ms}: when the lease ends, epoch milliseconds by the server's clock (read for records in
 *       progress only; a finished record keeps the last value);</li>
 *   <li>{@code expires_ms}: when the record stops being visible, epoch milliseconds; the key's native expiry
 *       ({@code PEXPIREAT}) is set to the same instant, so Redis itself hides and removes the record then;</li>
 *   <li>{@code hash}: the request hash, absent when none was given;</li>
 *   <li>{@code takeover}: {@code 1} when the owner took over an expired lease;</li>
 *   <li>{@code code}, {@code payload}: the status code and the result bytes of a completed record; no
 *       {@code payload} field means the result was not kept;</li>
 *   <li>{@code error_type}, {@code error_message}: the failure of a failed record;</li>
 *   <li>{@code op}: the id of the last call that changed the record, so that a call re-sent by the client
 *       after a lost reply (Redisson re-sends on a response timeout) gets the answer of the first attempt
 *       instead of being refused by its own effect.</li>
 * </ul>
 *
 * <p>The scripts start with a {@code #!lua} line: Redis 7 then refuses the whole script up front when it is
 * out of memory (instead of failing at a later write and leaving half a change), and on a cluster refuses
 * access to keys not declared in {@code KEYS}. A script checks everything before its first write, so a
 * failed script leaves no partial record. Each script makes few calls (a replay is one {@code HMGET}; a first
 * call's acquire and completion are four calls each), because every call inside a script costs server time.
 *
 * <p>Immutable and thread-safe.
 */
public final class RedisScripts {

    /** A Lua script with the SHA-1 digest that {@code EVALSHA} names it by. */
    public record Script(String name, String text, String sha) {
    }

    private static final String PRELUDE = """
            #!lua
            local key = KEYS[1]
            local function clock()
              local t = redis.call('TIME')
              local s, us = tonumber(t[1]), tonumber(t[2])
              return s * 1000 + math.floor(us / 1000), s * 1000000 + us
            end
            local function num(n)
              return string.format('%.0f', n)
            end
            """;

    /**
     * Acquire. ARGV: lease (ms), call id, '1' if a request hash is given, the request hash. Returns
     * {@code {1, token, takeover}} when the caller now owns the key, else {@code {0, <record>}} (see
     * {@link #RECORD_FIELDS}). A finished record is answered from one {@code HMGET}: its native expiry is its
     * visibility, so Redis itself no longer shows it once it expired.
     */
    public static final Script ACQUIRE = script("acquire", """
            local f = redis.call('HMGET', key, 'status', 'token', 'expires_ms', 'lease_ms', 'hash', 'code',
              'payload', 'error_type', 'error_message', 'op', 'takeover')
            local status = f[1]
            if status == 'COMPLETED' or status == 'FAILED' then
              return {0, status, f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]}
            end
            local now_ms, now_us = clock()
            local lease = tonumber(ARGV[1])
            local op = ARGV[2]
            local expires = now_ms + 2 * lease
            if status == 'IN_PROGRESS' and tonumber(f[3]) > now_ms then
              if f[10] == op then
                return {1, tonumber(f[2]), tonumber(f[11] or '0')}
              end
              if tonumber(f[4]) <= now_ms and (ARGV[3] ~= '1' or not f[5] or f[5] == ARGV[4]) then
                local token = math.max(tonumber(f[2]) + 1, now_us)
                redis.call('HSET', key, 'token', num(token), 'lease_ms', num(now_ms + lease),
                  'expires_ms', num(expires), 'op', op, 'takeover', '1')
                redis.call('PEXPIREAT', key, num(expires))
                return {1, token, 1}
              end
              return {0, status, f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]}
            end
            local token = now_us
            if f[2] then
              token = math.max(tonumber(f[2]) + 1, now_us)
            end
            if status then
              redis.call('DEL', key)
            end
            if ARGV[3] == '1' then
              redis.call('HSET', key, 'status', 'IN_PROGRESS', 'token', num(token), 'lease_ms', num(now_ms + lease),
                'expires_ms', num(expires), 'op', op, 'hash', ARGV[4])
            else
              redis.call('HSET', key, 'status', 'IN_PROGRESS', 'token', num(token), 'lease_ms', num(now_ms + lease),
                'expires_ms', num(expires), 'op', op)
            end
            redis.call('PEXPIREAT', key, num(expires))
            return {1, token, 0}
            """);

    /**
     * Complete. ARGV: token, retention (ms), call id, status code, '1' if the payload is kept, payload.
     * Returns 1 if completed, 0 if not owned.
     */
    public static final Script COMPLETE = script("complete", """
            local f = redis.call('HMGET', key, 'status', 'token', 'op')
            if f[2] ~= ARGV[1] then
              return 0
            end
            if f[1] == 'COMPLETED' and f[3] == ARGV[3] then
              return 1
            end
            if f[1] ~= 'IN_PROGRESS' then
              return 0
            end
            local expires = num(clock() + tonumber(ARGV[2]))
            if ARGV[5] == '1' then
              redis.call('HSET', key, 'status', 'COMPLETED', 'expires_ms', expires, 'op', ARGV[3], 'code', ARGV[4],
                'payload', ARGV[6])
            else
              redis.call('HSET', key, 'status', 'COMPLETED', 'expires_ms', expires, 'op', ARGV[3], 'code', ARGV[4])
            end
            redis.call('PEXPIREAT', key, expires)
            return 1
            """);

    /**
     * Fail. ARGV: token, retention (ms), call id, error type, '1' if there is a message, message. Returns 1
     * if recorded, 0 if not owned.
     */
    public static final Script FAIL = script("fail", """
            local f = redis.call('HMGET', key, 'status', 'token', 'op')
            if f[2] ~= ARGV[1] then
              return 0
            end
            if f[1] == 'FAILED' and f[3] == ARGV[3] then
              return 1
            end
            if f[1] ~= 'IN_PROGRESS' then
              return 0
            end
            local expires = num(clock() + tonumber(ARGV[2]))
            if ARGV[5] == '1' then
              redis.call('HSET', key, 'status', 'FAILED', 'expires_ms', expires, 'op', ARGV[3], 'error_type', ARGV[4],
                'error_message', ARGV[6])
            else
              redis.call('HSET', key, 'status', 'FAILED', 'expires_ms', expires, 'op', ARGV[3], 'error_type', ARGV[4])
            end
            redis.call('PEXPIREAT', key, expires)
            return 1
            """);

    /**
     * Release: replaces the record by a tombstone that keeps only the token, for one lease (at least a
     * second), so that a new record of the key continues above it. ARGV: token, call id. Returns 1 if
     * released, 0 if not owned.
     */
    public static final Script RELEASE = script("release", """
            local f = redis.call('HMGET', key, 'status', 'token', 'expires_ms', 'lease_ms', 'op')
            if f[2] ~= ARGV[1] then
              return 0
            end
            if f[1] == 'RELEASED' and f[5] == ARGV[2] then
              return 1
            end
            if f[1] ~= 'IN_PROGRESS' then
              return 0
            end
            local keep = math.max(tonumber(f[3]) - tonumber(f[4]), 1000)
            local expires = num(clock() + keep)
            redis.call('DEL', key)
            redis.call('HSET', key, 'status', 'RELEASED', 'token', f[2], 'op', ARGV[2], 'expires_ms', expires)
            redis.call('PEXPIREAT', key, expires)
            return 1
            """);

    /** Extend. ARGV: token, lease (ms). Returns 1 if renewed, 0 if not owned or no longer in progress. */
    public static final Script EXTEND = script("extend", """
            local f = redis.call('HMGET', key, 'status', 'token')
            if f[1] ~= 'IN_PROGRESS' or f[2] ~= ARGV[1] then
              return 0
            end
            local now_ms = clock()
            local lease = tonumber(ARGV[2])
            local expires = num(now_ms + 2 * lease)
            redis.call('HSET', key, 'lease_ms', num(now_ms + lease), 'expires_ms', expires)
            redis.call('PEXPIREAT', key, expires)
            return 1
            """);

    /**
     * Find, without changing anything. Returns the record (see {@link #RECORD_FIELDS}), or an empty list. A
     * record past its {@code expires_ms} is already gone: Redis expires the key at that instant.
     */
    public static final Script FIND = script("find", """
            local f = redis.call('HMGET', key, 'status', 'token', 'expires_ms', 'lease_ms', 'hash', 'code',
              'payload', 'error_type', 'error_message')
            if f[1] and f[1] ~= 'RELEASED' then
              return f
            end
            return {}
            """, "#!lua flags=no-writes");

    /** The fields of a record reply, in order, as returned by {@link #FIND} and by {@link #ACQUIRE} after its 0. */
    public static final List<String> RECORD_FIELDS = List.of("status", "token", "expires_ms", "lease_ms", "hash",
            "code", "payload", "error_type", "error_message");

    /** Every script, for loading and inspection. */
    public static final List<Script> ALL = List.of(ACQUIRE, COMPLETE, FAIL, RELEASE, EXTEND, FIND);

    private RedisScripts() {
    }

    private static Script script(String name, String body) {
        return script(name, body, "#!lua");
    }

    private static Script script(String name, String body, String shebang) {
        String text = PRELUDE.replace("#!lua\n", shebang + "\n") + body;
        return new Script(name, text, sha1(text));
    }

    private static String sha1(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every Java platform", e);
        }
    }
}
