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
 * <p><b>Record layout.</b> A record is one Redis string, written with {@code SET key value PX keep}, so that
 * the value and its native expiry change together in one call. The value is a status letter ({@code P} in
 * progress, {@code C} completed, {@code F} failed, {@code R} the tombstone a release leaves behind) and the
 * fields of {@link RecordFormat}, each {@code <length>:<bytes>} or {@code -} when absent. The header is
 * text, so {@code GET} in {@code redis-cli} shows a record readably.
 *
 * <p><b>Cost.</b> Every call a script makes, and every number it formats, costs server time (microseconds
 * each, more than the command itself), so the scripts do little: a replay is one {@code GET}; an acquire of
 * a new key or a completion is {@code GET}, {@code TIME}, {@code SET}. The caller sends every field already
 * encoded ({@code 5:30000}), neighbouring fields joined into one argument (the client spends time and memory on
 * each argument; the acquire, complete and fail scripts take a single one, which they split with {@code decode}),
 * the scripts compare and splice encoded fields, and times are read as the text {@code TIME} returns, so no script
 * formats a number on its usual path. The record keeps when it was written
 * ({@code at_ms}) and for how long ({@code lease_ms}, {@code keep_ms}) instead of absolute instants; the
 * native expiry ({@code PX keep_ms}) ends it at {@code at_ms + keep_ms}, by the same clock.
 *
 * <p><b>Safety.</b> The scripts start with a {@code #!lua} line: Redis 7 then refuses the whole script up front
 * when it is out of memory (instead of failing at a later write and leaving half a change), and on a cluster
 * refuses access to keys not declared in {@code KEYS}. A script checks everything before its single write,
 * so a failed script leaves no partial record.
 *
 * <p>Immutable and thread-safe.
 */
public final class RedisScripts {

    /** A Lua script with the SHA-1 digest that {@code EVALSHA} names it by. */
    public record Script(String name, String text, String sha) {
    }

    /**
     * The helpers every script starts with. {@code decode(v, n, from)} returns the first {@code n} fields as
     * encoded text, read from position {@code from} (default 2, after a record's status letter), and where the next
     * field starts; {@code val} strips a field's length; {@code clock} returns the server time in milliseconds and
     * in microseconds, as text.
     */
    private static final String PRELUDE = """
            #!lua
            local key = KEYS[1]
            local function decode(v, n, from)
              local r, pos = {}, from or 2
              for i = 1, n do
                if string.byte(v, pos) == 45 then
                  r[i] = '-'
                  pos = pos + 1
                else
                  local colon = string.find(v, ':', pos, true)
                  local stop = colon + tonumber(string.sub(v, pos, colon - 1))
                  r[i] = string.sub(v, pos, stop)
                  pos = stop + 1
                end
              end
              return r, pos
            end
            local function val(f)
              return string.sub(f, string.find(f, ':', 1, true) + 1)
            end
            local function field(x)
              return #x .. ':' .. x
            end
            local function clock()
              local t = redis.call('TIME')
              local us = string.rep('0', 6 - #t[2]) .. t[2]
              return t[1] .. string.sub(us, 1, 3), t[1] .. us
            end
            """;

    /**
     * Acquire. ARGV: one argument, the fields lease_ms, keep_ms (two leases), hash ({@code -} for none) and op, in
     * the record's order. Returns the token, an integer, when the caller now owns the key (negated when it took
     * over an expired lease), else the record, a bulk string: one value, which the client reads without a list.
     * A finished record is answered from its {@code GET} alone: its native expiry is its visibility. A new token
     * is {@code max(last token + 1, now in microseconds)}.
     */
    public static final Script ACQUIRE = script("acquire", """
            local v = redis.call('GET', key)
            local s = v and string.byte(v, 1)
            if s == 67 or s == 70 then
              return v
            end
            local a = decode(ARGV[1], 4, 1)
            local now_ms, now_us = clock()
            local token = now_us
            local takeover = false
            local r
            if v then
              r = decode(v, 7)
              if s == 80 then
                local at, now = tonumber(val(r[2])), tonumber(now_ms)
                if at + tonumber(val(r[4])) > now then
                  if r[6] == a[4] then
                    local owned = tonumber(val(r[1]))
                    return r[7] == '1:1' and -owned or owned
                  end
                  if at + tonumber(val(r[3])) > now or (a[3] ~= '-' and r[5] ~= '-' and r[5] ~= a[3]) then
                    return v
                  end
                  takeover = true
                end
              end
              local last = tonumber(val(r[1]))
              if last >= tonumber(now_us) then
                token = string.format('%.0f', last + 1)
              end
            end
            if takeover then
              redis.call('SET', key, 'P' .. field(token) .. field(now_ms) .. a[1] .. a[2] .. r[5] .. a[4] .. '1:1----',
                'PX', val(a[2]))
              return -tonumber(token)
            end
            redis.call('SET', key, 'P' .. field(token) .. field(now_ms) .. ARGV[1] .. '-----', 'PX', val(a[2]))
            return tonumber(token)
            """);

    /**
     * Complete and fail differ only in the status they write ({@code {status}}, whose byte is {@code {byte}}): a
     * repeat by the same owner and operation answers 1 again, anything else not in progress or not owned
     * answers 0.
     */
    private static final String FINISH = """
            local v = redis.call('GET', key)
            if not v then
              return 0
            end
            local s = string.byte(v, 1)
            local r = decode(v, 6)
            local a, rest = decode(ARGV[1], 3, 1)
            if r[1] ~= a[1] then
              return 0
            end
            if s == {byte} and r[6] == a[3] then
              return 1
            end
            if s ~= 80 then
              return 0
            end
            redis.call('SET', key, '{status}' .. r[1] .. field(clock()) .. r[3] .. a[2] .. r[5] .. a[3]
              .. string.sub(ARGV[1], rest), 'PX', val(a[2]))
            return 1
            """;

    /**
     * Complete. ARGV: one argument, the fields token, keep_ms (the retention) and op, then the record's fields
     * from takeover on ({@code -}, code, {@code --}, payload or {@code -} when not kept). Returns 1 if completed,
     * 0 if not owned.
     */
    public static final Script COMPLETE = script("complete", finish('C'));

    /**
     * Fail. ARGV: one argument, the fields token, keep_ms (the retention) and op, then the record's fields from
     * takeover on ({@code --}, error_type, error_message or {@code -}, {@code -}). Returns 1 if recorded, 0 if not
     * owned.
     */
    public static final Script FAIL = script("fail", finish('F'));

    /**
     * Release: replaces the record by a tombstone that keeps only the token, for one lease (at least a
     * second), so that a new record of the key continues above it. ARGV: the token field, the op field.
     * Returns 1 if released, 0 if not owned.
     */
    public static final Script RELEASE = script("release", """
            local v = redis.call('GET', key)
            if not v then
              return 0
            end
            local s = string.byte(v, 1)
            local r = decode(v, 6)
            if r[1] ~= ARGV[1] then
              return 0
            end
            if s == 82 and r[6] == ARGV[2] then
              return 1
            end
            if s ~= 80 then
              return 0
            end
            local keep = string.format('%.0f', math.max(tonumber(val(r[3])), 1000))
            redis.call('SET', key, 'R' .. r[1] .. field(clock()) .. '-' .. field(keep) .. '-' .. ARGV[2] .. '-----',
              'PX', keep)
            return 1
            """);

    /**
     * Extend. ARGV: the token field, keep (ms, two leases), the fields lease_ms and keep_ms (together).
     * Returns 1 if renewed, 0 if not owned or no longer in progress.
     */
    public static final Script EXTEND = script("extend", """
            local v = redis.call('GET', key)
            if not v or string.byte(v, 1) ~= 80 then
              return 0
            end
            local r, rest = decode(v, 4)
            if r[1] ~= ARGV[1] then
              return 0
            end
            redis.call('SET', key, 'P' .. r[1] .. field(clock()) .. ARGV[3] .. string.sub(v, rest), 'PX', ARGV[2])
            return 1
            """);

    /**
     * Find, without changing anything. Returns {@code {record}}, or an empty list when there is none (a
     * tombstone counts as none; an expired record is already gone, Redis expires the key at that instant).
     */
    public static final Script FIND = script("find", """
            local v = redis.call('GET', key)
            if v and string.byte(v, 1) ~= 82 then
              return {v}
            end
            return {}
            """, "#!lua flags=no-writes");

    /**
     * Forget: like release, but for a record in any state (in progress, completed or failed) owned by the token:
     * replaces it by a tombstone that keeps only the token, for one lease (at least a second), so that a new
     * record of the key continues above it. ARGV: the token field, the op field. Returns 1 if removed, 0 if there
     * is no record of that token.
     */
    public static final Script FORGET = script("forget", """
            local v = redis.call('GET', key)
            if not v then
              return 0
            end
            local s = string.byte(v, 1)
            local r = decode(v, 6)
            if r[1] ~= ARGV[1] then
              return 0
            end
            if s == 82 then
              return r[6] == ARGV[2] and 1 or 0
            end
            local keep = '1000'
            if r[3] ~= '-' then
              keep = string.format('%.0f', math.max(tonumber(val(r[3])), 1000))
            end
            redis.call('SET', key, 'R' .. r[1] .. field(clock()) .. '-' .. field(keep) .. '-' .. ARGV[2] .. '-----',
              'PX', keep)
            return 1
            """);

    /** Every script, for loading and inspection. */
    public static final List<Script> ALL = List.of(ACQUIRE, COMPLETE, FAIL, RELEASE, EXTEND, FIND, FORGET);

    private RedisScripts() {
    }

    private static String finish(char status) {
        return FINISH.replace("{status}", String.valueOf(status)).replace("{byte}", String.valueOf((int) status));
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
