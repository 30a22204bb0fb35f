package org.idempotency.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.redis.internal.KeyPrefixes;
import org.idempotency.redis.internal.RecordFormat;
import org.idempotency.redis.internal.RedisScripts;
import org.idempotency.redis.internal.Replies;
import org.jspecify.annotations.Nullable;
import org.redisson.api.BatchOptions;
import org.redisson.api.RBatch;
import org.redisson.api.RFuture;
import org.redisson.api.RScript;
import org.redisson.api.RScriptAsync;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisNoScriptException;
import org.redisson.client.codec.ByteArrayCodec;

/**
 * The Redis store, on Redisson. Every operation is one Lua script, run with {@code EVALSHA} through
 * Redisson's {@link RScript}, that touches exactly one key ({@code keyPrefix + storedKey}), so the store runs
 * unchanged on Redis Cluster. Scripts are loaded on first use; a {@code NOSCRIPT} reply (after a restart, a
 * failover or a {@code SCRIPT FLUSH}) is answered by loading the script again and repeating the call, which is
 * safe because a script that was not found did not run. The batch operations, {@link #acquireAll} and
 * {@link #extendAll}, send one script per key in one pipeline: one round trip per Redis node.
 *
 * <p><b>Records.</b> A record is one Redis string per key, written together with its native expiry
 * ({@code SET ... PXAT}) at the end of its visibility: one lease after the end of the lease for work in
 * progress (so abandoned records do not linger), the retention for finished records. The value is a status
 * letter and length-prefixed fields (token, lease end, expiry, request hash, result or failure, see
 * {@code RedisScripts}); results are kept as raw bytes, so any payload round-trips, 1 MiB ones included.
 * {@link #find} decodes a record for inspection, and {@code GET} in {@code redis-cli} shows it readably.
 *
 * <p><b>Time.</b> Every lease and expiry decision uses the Redis server's clock ({@code TIME} inside the
 * script), never the application's.
 *
 * <p><b>Fencing tokens</b> strictly increase per key and are never reused, with one key per script and no
 * counter key. A new token is {@code max(previous token of the key + 1, server time in microseconds)}:
 * <ul>
 *   <li>While the key exists, its value holds the last token issued for it, and the next one is larger.
 *       Completing and failing keep the token. Releasing does not delete the key: it leaves a tombstone
 *       (invisible to every operation) holding the last token for one lease (at least a second), so a release
 *       and a new acquire within the same microsecond still get increasing tokens.</li>
 *   <li>When the key is gone, it expired: a takeover window, a retention or (for a tombstone) a lease after
 *       its last token was issued, never less than a millisecond. That token was at most the server time in
 *       microseconds when it was issued plus the number of tokens issued for the key within that same
 *       microsecond (each script call takes longer than a microsecond, so in practice plus one). The server
 *       clock has moved on by the whole lifetime of the key since, so the new token, the current time in
 *       microseconds, is larger.</li>
 * </ul>
 * The argument assumes that the server's clock does not step back by more than the time a key outlives its
 * last token (a lease for abandoned and released keys, the retention for finished ones). Tokens stay below
 * 2<sup>53</sup> (microseconds until the year 2255), so Lua's numbers hold them exactly.
 *
 * <p><b>Faults.</b> A lost connection, a timeout or a Redis error is an {@link IdempotencyStoreException}
 * wrapping Redisson's exception. A script writes once, after it has checked everything, and starts with
 * {@code #!lua} so that Redis 7 refuses it as a whole when out of memory: a failed call leaves no partial
 * record. Redisson re-sends a command whose reply timed out; each changing call carries an id of its own (a
 * random prefix per store and a counter), stored in the record, so that a re-sent call gets the answer of
 * its first attempt instead of being refused by its own effect. Requires Redis 7 or later.
 *
 * <p><b>Interrupts.</b> A call on an interrupted thread (or interrupted while it waits) still waits for the
 * reply, within the client's timeout, and reports what Redis did: a key it took is returned as acquired, a
 * record it completed as completed. The interrupt stays set for the caller to act on. (Redisson's blocking
 * calls would throw after sending the command, reporting a failure for a change that was made.)
 *
 * <p>Build it with {@link #builder(RedissonClient)} over the application's client (which the store does not
 * close unless asked), or through the {@code redis} provider from settings (that store owns its client and
 * closes it in {@link #close()}). Thread-safe.
 */
public final class RedisIdempotencyStore
        implements BatchAcquiringIdempotencyStore, BatchExtendingIdempotencyStore, AutoCloseable {

    /** The key prefix unless another is set: records live at {@code idempotency:<operation>:<key>}. */
    public static final String DEFAULT_KEY_PREFIX = "idempotency:";
    /** The longest key prefix, in UTF-8 bytes. */
    public static final int MAX_KEY_PREFIX_BYTES = KeyPrefixes.MAX_BYTES;

    /**
     * How often a call meeting NOSCRIPT (after a restart, a failover or a {@code SCRIPT FLUSH}) loads the script and
     * runs it again; a script that was not found did not run, so running it again is safe.
     */
    private static final int SCRIPT_ATTEMPTS = 3;
    /** Leases and retentions beyond a century are held to a century, which keeps the arithmetic exact. */
    private static final Duration MAX_DURATION = Duration.ofDays(36_500);
    private static final long MAX_MILLIS = MAX_DURATION.toMillis();
    private static final byte[] EMPTY = {};
    private static final byte[] TWO_ABSENT = {'-', '-'};

    private final RedissonClient client;
    private final RScript script;
    private final String keyPrefix;
    private final boolean closeClient;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Call ids: 128 random bits drawn once for this store, then a counter; no random number per call. */
    private final byte[] callIdPrefix;
    private final AtomicLong calls = new AtomicLong();
    /** The encoded arguments of the last lease and retention used: engines use one of each, so they repeat. */
    private volatile DurationArgs lastLease = new DurationArgs(-1, EMPTY, EMPTY);
    private volatile DurationArgs lastRetention = new DurationArgs(-1, EMPTY, EMPTY);

    /** A duration's arguments: its milliseconds in plain decimal and as encoded fields. */
    private record DurationArgs(long millis, byte[] plain, byte[] fields) {
    }

    private RedisIdempotencyStore(Builder builder) {
        this.client = builder.client;
        this.script = client.getScript(ByteArrayCodec.INSTANCE);
        this.keyPrefix = builder.keyPrefix;
        this.closeClient = builder.closeClient;
        this.callIdPrefix = (HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong())
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + "-")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Starts building a store over an application's Redisson client.
     *
     * @param client the client; the store closes it only if told to ({@link Builder#closeClientOnClose})
     * @return a builder with the defaults
     */
    public static Builder builder(RedissonClient client) {
        return new Builder(client);
    }

    /**
     * The prefix of every Redis key this store writes.
     *
     * @return the prefix, ending with its only {@code ':'}
     */
    public String keyPrefix() {
        return keyPrefix;
    }

    /**
     * The Redis key of a stored key: the prefix followed by the stored key. The prefix ends at the first
     * {@code ':'} of the Redis key, so different (prefix, stored key) pairs never give the same Redis key.
     *
     * @param storedKey the key as the engine stores it ({@code operation:key})
     * @return the Redis key of its record
     */
    public String redisKey(String storedKey) {
        return keyPrefix + storedKey;
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        Objects.requireNonNull(key, "key");
        Object[] args = acquireArgs(requestHash, leaseArgs(lease), callIdField());
        List<Object> reply = eval(RedisScripts.ACQUIRE, "acquire a key", key, RScript.ReturnType.LIST, args);
        return Replies.acquireResult(key, reply);
    }

    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        Objects.requireNonNull(requests, "requests");
        DurationArgs leaseArgs = leaseArgs(lease);
        List<String> keys = new ArrayList<>(requests.size());
        for (AcquireRequest request : requests) {
            keys.add(request.key());
        }
        requireDistinct(keys);
        Object[][] args = new Object[requests.size()][];
        for (int i = 0; i < args.length; i++) {
            args[i] = acquireArgs(requests.get(i).requestHash(), leaseArgs, callIdField());
        }
        List<Object> replies = pipeline(RedisScripts.ACQUIRE, RScript.ReturnType.LIST, keys, args,
                "acquire a batch of " + keys.size() + " keys; keys acquired before the fault expire with their lease");
        List<AcquireResult> results = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            @SuppressWarnings("unchecked")
            List<Object> reply = (List<Object>) replies.get(i);
            results.add(Replies.acquireResult(keys.get(i), reply));
        }
        return List.copyOf(results);
    }

    /**
     * Renews many leases with one pipeline of the extend script, one per key: one round trip per Redis node.
     * Each key's outcome is that of {@link #extend}.
     */
    @Override
    public List<Boolean> extendAll(List<OwnedKey> keys, Duration lease) {
        Objects.requireNonNull(keys, "keys");
        DurationArgs leaseArgs = leaseArgs(lease);
        List<String> storedKeys = new ArrayList<>(keys.size());
        for (OwnedKey owned : keys) {
            storedKeys.add(owned.key());
        }
        requireDistinct(storedKeys);
        Object[][] args = new Object[keys.size()][];
        for (int i = 0; i < args.length; i++) {
            args[i] = new Object[] {RecordFormat.field(keys.get(i).fencingToken()), leaseArgs.plain(),
                    leaseArgs.fields()};
        }
        List<Object> replies = pipeline(RedisScripts.EXTEND, RScript.ReturnType.LONG, storedKeys, args,
                "renew the leases of a batch of " + keys.size() + " keys; some may have been renewed");
        List<Boolean> results = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            results.add(Replies.changed(storedKeys.get(i), replies.get(i)));
        }
        return List.copyOf(results);
    }

    private static void requireDistinct(List<String> keys) {
        Set<String> seen = new HashSet<>();
        for (String key : keys) {
            if (!seen.add(key)) {
                throw new IllegalArgumentException("Key '" + IdempotencyException.safeKey(key)
                        + "' appears twice in one batch; the keys of a batch must be distinct");
            }
        }
    }

    /**
     * Runs one script per key in one pipeline ({@link BatchOptions.ExecutionMode#IN_MEMORY}: one write and one
     * round trip per Redis node) and returns the replies in key order. Keys that met NOSCRIPT did not run: the
     * script is loaded and they run again, in another pipeline; on the last of {@link #SCRIPT_ATTEMPTS}, NOSCRIPT is
     * a fault like any other.
     */
    private List<Object> pipeline(RedisScripts.Script lua, RScript.ReturnType type, List<String> keys,
            Object[][] args, String action) {
        Object[] replies = new Object[keys.size()];
        List<Integer> pending = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            pending.add(i);
        }
        for (int attempt = 1; !pending.isEmpty(); attempt++) {
            List<Integer> notLoaded = runPipeline(lua, type, keys, args, pending, replies,
                    attempt == SCRIPT_ATTEMPTS, action);
            if (!notLoaded.isEmpty()) {
                try {
                    await(script.scriptLoadAsync(lua.text()));
                } catch (RuntimeException e) {
                    throw new IdempotencyStoreException("Redis failed to load the " + lua.name() + " script",
                            keys.get(notLoaded.get(0)), unwrap(e));
                }
            }
            pending = notLoaded;
        }
        return Arrays.asList(replies);
    }

    /** One pipeline of the pending keys; returns those that met NOSCRIPT (unless this is the last attempt). */
    private List<Integer> runPipeline(RedisScripts.Script lua, RScript.ReturnType type, List<String> keys,
            Object[][] args, List<Integer> pending, Object[] replies, boolean last, String action) {
        RBatch batch = client.createBatch(BatchOptions.defaults().executionMode(BatchOptions.ExecutionMode.IN_MEMORY));
        RScriptAsync batchScript = batch.getScript(ByteArrayCodec.INSTANCE);
        List<RFuture<Object>> futures = new ArrayList<>(pending.size());
        for (int i : pending) {
            String redisKey = redisKey(keys.get(i));
            futures.add(batchScript.evalShaAsync(redisKey, RScript.Mode.READ_WRITE, lua.sha(), type,
                    List.of(redisKey), args[i]));
        }
        RuntimeException batchError = null;
        try {
            await(batch.executeAsync());
        } catch (RuntimeException e) {
            batchError = e;
        }
        List<Integer> noScript = new ArrayList<>();
        for (int n = 0; n < futures.size(); n++) {
            int i = pending.get(n);
            CompletableFuture<Object> future = futures.get(n).toCompletableFuture();
            Throwable failure = future.handle((reply, error) -> error).join();
            if (failure == null) {
                replies[i] = future.join();
            } else if (unwrap(failure) instanceof RedisNoScriptException && !last) {
                noScript.add(i);
            } else {
                throw new IdempotencyStoreException("Redis failed to " + action, keys.get(i),
                        unwrap(batchError != null ? batchError : failure));
            }
        }
        if (noScript.isEmpty() && batchError != null) {
            throw new IdempotencyStoreException("Redis failed to " + action, null, unwrap(batchError));
        }
        return noScript;
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(result, "result");
        DurationArgs retentionArgs = retentionArgs(retention);
        // the fields from takeover on: no takeover, the code, no error type or message, the payload
        byte[] tail = RecordFormat.completionTail(result.statusCode(), result.payload());
        Object reply = eval(RedisScripts.COMPLETE, "complete a record", key, RScript.ReturnType.LONG,
                RecordFormat.field(fencingToken), retentionArgs.plain(), retentionArgs.fields(), callIdField(), tail);
        return Replies.changed(key, reply);
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(failure, "failure");
        DurationArgs retentionArgs = retentionArgs(retention);
        // the fields from takeover on: no takeover, no code, the error type and message, no payload
        byte[] tail = join(TWO_ABSENT, RecordFormat.field(failure.type()), RecordFormat.field(failure.message()),
                RecordFormat.ABSENT);
        Object reply = eval(RedisScripts.FAIL, "record a failure", key, RScript.ReturnType.LONG,
                RecordFormat.field(fencingToken), retentionArgs.plain(), retentionArgs.fields(), callIdField(), tail);
        return Replies.changed(key, reply);
    }

    @Override
    public boolean release(String key, long fencingToken) {
        Objects.requireNonNull(key, "key");
        Object reply = eval(RedisScripts.RELEASE, "release a record", key, RScript.ReturnType.LONG,
                RecordFormat.field(fencingToken), callIdField());
        return Replies.changed(key, reply);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        Objects.requireNonNull(key, "key");
        DurationArgs leaseArgs = leaseArgs(lease);
        Object reply = eval(RedisScripts.EXTEND, "extend a lease", key, RScript.ReturnType.LONG,
                RecordFormat.field(fencingToken), leaseArgs.plain(), leaseArgs.fields());
        return Replies.changed(key, reply);
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        Objects.requireNonNull(key, "key");
        List<Object> reply = eval(RedisScripts.FIND, "find a record", key, RScript.ReturnType.LIST);
        return Optional.ofNullable(Replies.findResult(key, reply));
    }

    /**
     * Closes the Redisson client if this store owns it (built by the {@code redis} provider, or with
     * {@link Builder#closeClientOnClose(boolean)}); otherwise does nothing. Idempotent.
     */
    @Override
    public void close() {
        if (closeClient && closed.compareAndSet(false, true)) {
            client.shutdown();
        }
    }

    @Override
    public String toString() {
        return "RedisIdempotencyStore[keyPrefix=" + keyPrefix + "]";
    }

    /**
     * Runs a script by its digest; on NOSCRIPT loads it on the key's node and runs it again (a few times, in
     * case the script cache is flushed again meanwhile).
     */
    private <R> R eval(RedisScripts.Script lua, String action, String key, RScript.ReturnType type, Object... args) {
        String redisKey = redisKey(key);
        List<Object> keys = List.of(redisKey);
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    return await(script.<R>evalShaAsync(redisKey, RScript.Mode.READ_WRITE, lua.sha(), type, keys,
                            args));
                } catch (CompletionException e) {
                    if (!(unwrap(e) instanceof RedisNoScriptException) || attempt == SCRIPT_ATTEMPTS) {
                        throw e;
                    }
                    await(script.scriptLoadAsync(redisKey, lua.text()));
                }
            }
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("Redis failed to " + action, key, unwrap(e));
        }
    }

    /**
     * Waits for a Redisson call without giving up on an interrupt. Once a command is sent, its outcome is what
     * the caller must act on: Redisson's blocking calls would throw on an interrupted thread although the
     * command ran, turning a stored completion or a taken key into a reported failure. The wait is bounded by
     * the client's response timeout and retries; an interrupt that arrives meanwhile stays set for the caller.
     *
     * @throws CompletionException wrapping the call's failure
     */
    private static <V> V await(RFuture<V> call) {
        return call.toCompletableFuture().join();
    }

    private static Object[] acquireArgs(@Nullable String requestHash, DurationArgs lease, byte[] callIdField) {
        return new Object[] {lease.plain(), lease.fields(), callIdField, RecordFormat.field(requestHash)};
    }

    /** A lease's arguments: keep_ms (two leases) in plain decimal, and the fields lease_ms and keep_ms. */
    private DurationArgs leaseArgs(Duration lease) {
        long millis = millis(lease, "lease");
        DurationArgs last = lastLease;
        if (last.millis() != millis) {
            byte[] fields = join(RecordFormat.field(millis), RecordFormat.field(2 * millis));
            last = new DurationArgs(millis, number(2 * millis), fields);
            lastLease = last;
        }
        return last;
    }

    /** A retention's arguments: in plain decimal, and the field keep_ms. */
    private DurationArgs retentionArgs(Duration retention) {
        long millis = millis(retention, "retention");
        DurationArgs last = lastRetention;
        if (last.millis() != millis) {
            last = new DurationArgs(millis, number(millis), RecordFormat.field(millis));
            lastRetention = last;
        }
        return last;
    }

    /** The field of an id for one changing call, so that a call re-sent after a lost reply is recognised. */
    private byte[] callIdField() {
        return RecordFormat.field(callIdPrefix, calls.incrementAndGet());
    }

    private static byte[] join(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    private static long millis(Duration duration, String name) {
        Objects.requireNonNull(duration, name);
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + duration);
        }
        if (duration.compareTo(MAX_DURATION) > 0) {
            return MAX_MILLIS;
        }
        return Math.max(1, duration.toMillis());
    }

    private static byte[] number(long value) {
        return Long.toString(value).getBytes(StandardCharsets.US_ASCII);
    }

    private static Throwable unwrap(Throwable error) {
        Throwable current = error;
        while (current instanceof CompletionException && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    /**
     * Configures a {@link RedisIdempotencyStore} over a Redisson client. Each setter validates its argument.
     * Not thread-safe; the store it builds is.
     */
    public static final class Builder {

        private final RedissonClient client;
        private String keyPrefix = DEFAULT_KEY_PREFIX;
        private boolean closeClient;

        private Builder(RedissonClient client) {
            this.client = Objects.requireNonNull(client, "client must not be null");
        }

        /**
         * The prefix of every Redis key the store writes (default
         * {@value RedisIdempotencyStore#DEFAULT_KEY_PREFIX}). Stores with different prefixes never see each
         * other's records: a prefix ends with {@code ':'} and contains no other {@code ':'}, so the Redis key
         * {@code prefix + storedKey} tells where the prefix ends, whatever the stored key contains. The whole rule:
         * 1 to {@value RedisIdempotencyStore#MAX_KEY_PREFIX_BYTES} UTF-8 bytes without whitespace, control or glob
         * characters ({@code * ? [ ] \}), ending with its only {@code ':'}; a <code>'&#123;'</code> only as a complete Redis
         * Cluster hash tag ({@code {payments}-idempotency:} puts every key of the store into the slot of
         * {@code payments}). For example {@code payments-idempotency:}, not {@code payments:idempotency:}.
         *
         * @param keyPrefix the prefix
         * @return this builder
         * @throws IllegalArgumentException naming the rule the prefix breaks
         */
        public Builder keyPrefix(String keyPrefix) {
            this.keyPrefix = KeyPrefixes.check(keyPrefix);
            return this;
        }

        /**
         * Whether {@link RedisIdempotencyStore#close()} shuts the Redisson client down (default {@code false}: the
         * application owns its client).
         *
         * @param closeClient whether the store owns the client
         * @return this builder
         */
        public Builder closeClientOnClose(boolean closeClient) {
            this.closeClient = closeClient;
            return this;
        }

        /**
         * Builds the store. Connects to nothing by itself: scripts are loaded on first use.
         *
         * @return the store
         */
        public RedisIdempotencyStore build() {
            return new RedisIdempotencyStore(this);
        }
    }
}
