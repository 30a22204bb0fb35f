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
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.redis.internal.EvictionPolicies;
import org.idempotency.redis.internal.KeyPrefixes;
import org.idempotency.redis.internal.RecordFormat;
import org.idempotency.redis.internal.RedisScripts;
import org.idempotency.redis.internal.Replies;
import org.idempotency.redis.internal.ScriptCodec;
import org.jspecify.annotations.Nullable;
import org.redisson.api.BatchOptions;
import org.redisson.api.BatchResult;
import org.redisson.api.RBatch;
import org.redisson.api.RFuture;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisNoScriptException;
import org.redisson.client.codec.ByteArrayCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis store, on Redisson. Every operation is one Lua script, run with {@code EVALSHA} through
 * Redisson's {@link RScript}, that touches exactly one key ({@code keyPrefix + storedKey}), so the store runs
 * unchanged on Redis Cluster. Scripts are loaded on first use; a {@code NOSCRIPT} reply (after a restart, a
 * failover or a {@code SCRIPT FLUSH}) is answered by loading the script again and repeating the call, which is
 * safe because a script that was not found did not run. The batch operations, {@link #acquireAll},
 * {@link #extendAll} and {@link #completeAll}, send one script per key in one pipeline: one round trip per Redis node.
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
 * <p><b>Replication.</b> Redis replicates asynchronously: a master acknowledges a write before its replicas have
 * it, so a claim or a completion it acknowledged and then lost in a failover is gone, and the work can run again.
 * With {@link Builder#replicaAcknowledgement(int, Duration)} each call waits, on the same connection, until that
 * many replicas of the key's master have the write ({@code WAIT}, through Redisson's {@link BatchOptions#sync});
 * fewer within the timeout is an {@link IdempotencyStoreException} saying that the change may exist on the master
 * only. Off by default.
 *
 * <p><b>Eviction.</b> Records carry an expiry, so a server whose {@code maxmemory-policy} is not
 * {@code noeviction} may delete them early under memory pressure. {@link Builder#build()} reads the policy of every
 * node and warns, or refuses (see {@link EvictionPolicyCheck}).
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
        implements BatchAcquiringIdempotencyStore, BatchExtendingIdempotencyStore, BatchCompletingIdempotencyStore,
        ForgettingIdempotencyStore, AutoCloseable {

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
    private static final Logger LOG = LoggerFactory.getLogger(RedisIdempotencyStore.class);

    private final RedissonClient client;
    private final RScript script;
    private final String keyPrefix;
    private final boolean closeClient;
    /** Replicas that must acknowledge each call's write ({@code WAIT}), 0 for none; and how long to wait. */
    private final int waitReplicas;
    private final Duration waitTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Call ids: 128 random bits drawn once for this store, then a counter; no random number per call. */
    private final byte[] callIdPrefix;
    private final AtomicLong calls = new AtomicLong();
    /** The encoded arguments of the last lease and retention used: engines use one of each, so they repeat. */
    private volatile DurationArgs lastLease = new DurationArgs(-1, EMPTY, EMPTY);
    private volatile DurationArgs lastRetention = new DurationArgs(-1, EMPTY, EMPTY);

    /**
     * A duration's arguments: its milliseconds in plain decimal (a lease's, for the extend script; empty for a
     * retention) and as encoded fields.
     */
    private record DurationArgs(long millis, byte[] plain, byte[] fields) {
    }

    private RedisIdempotencyStore(Builder builder) {
        this.client = builder.client;
        this.script = client.getScript(ScriptCodec.INSTANCE);
        this.keyPrefix = builder.keyPrefix;
        this.closeClient = builder.closeClient;
        this.waitReplicas = builder.waitReplicas;
        this.waitTimeout = builder.waitTimeout;
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
        Object reply = eval(RedisScripts.ACQUIRE, "acquire a key", key, RScript.ReturnType.VALUE,
                acquireArgument(requestHash, leaseArgs(lease)));
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
            args[i] = new Object[] {acquireArgument(requests.get(i).requestHash(), leaseArgs)};
        }
        List<Object> replies = pipeline(RedisScripts.ACQUIRE, RScript.ReturnType.VALUE, keys, args,
                "acquire a batch of " + keys.size() + " keys; keys acquired before the fault expire with their lease");
        List<AcquireResult> results = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            results.add(Replies.acquireResult(keys.get(i), replies.get(i)));
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

    /**
     * Completes many records with one pipeline of the complete script, one per key (Redisson's {@link RBatch}: one
     * round trip per Redis node). Each key's outcome is that of {@link #complete}, fencing included.
     */
    @Override
    public List<Boolean> completeAll(List<CompleteRequest> completions, Duration retention) {
        Objects.requireNonNull(completions, "completions");
        DurationArgs retentionArgs = retentionArgs(retention);
        List<String> storedKeys = new ArrayList<>(completions.size());
        for (CompleteRequest completion : completions) {
            storedKeys.add(completion.key());
        }
        requireDistinct(storedKeys);
        Object[][] args = new Object[completions.size()][];
        for (int i = 0; i < args.length; i++) {
            CompleteRequest completion = completions.get(i);
            args[i] = new Object[] {completionArgument(completion.fencingToken(), completion.result(), retentionArgs)};
        }
        List<Object> replies = pipeline(RedisScripts.COMPLETE, RScript.ReturnType.LONG, storedKeys, args,
                "complete a batch of " + completions.size() + " records; some may have been completed");
        List<Boolean> results = new ArrayList<>(completions.size());
        for (int i = 0; i < completions.size(); i++) {
            results.add(Replies.changed(storedKeys.get(i), replies.get(i)));
        }
        return List.copyOf(results);
    }

    /**
     * Removes the record of the token, whatever its state, leaving a tombstone that keeps the token for a lease (at
     * least a second), as a release does, so the key's tokens keep increasing.
     */
    @Override
    public boolean forget(String key, long fencingToken) {
        Objects.requireNonNull(key, "key");
        Object reply = eval(RedisScripts.FORGET, "forget a record", key, RScript.ReturnType.LONG,
                RecordFormat.field(fencingToken), callIdField());
        return Replies.changed(key, reply);
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
     * script is loaded and they run again. Keys left without an answer ran or did not: they run again with the same
     * arguments, which is safe because every changing call carries its call id and a script answers a repeat of a
     * call it already made with that call's answer. (Redisson leaves some commands of a pipeline unanswered when a
     * command before them fails after a cluster redirect, {@code ASK} during a slot migration.) Repeats go in a
     * batch per key. On the last of {@link #SCRIPT_ATTEMPTS}, NOSCRIPT or no answer is a fault like any other.
     */
    private List<Object> pipeline(RedisScripts.Script lua, RScript.ReturnType type, List<String> keys,
            Object[][] args, String action) {
        Object[] replies = new Object[keys.size()];
        List<Integer> pending = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            pending.add(i);
        }
        for (int attempt = 1; !pending.isEmpty(); attempt++) {
            Rerun rerun = runPipeline(lua, type, keys, args, pending, replies, attempt, action);
            if (rerun.notLoaded()) {
                String firstKey = keys.get(rerun.keys().get(0));
                try {
                    loadScript(lua, redisKey(firstKey));
                } catch (RuntimeException e) {
                    throw new IdempotencyStoreException("Redis failed to load the " + lua.name() + " script",
                            firstKey, unwrap(e));
                }
            }
            pending = rerun.keys();
        }
        return Arrays.asList(replies);
    }

    /** The keys of a pipeline to run again, and whether one of them met NOSCRIPT. */
    private record Rerun(List<Integer> keys, boolean notLoaded) {
    }

    /**
     * One pipeline of the pending keys; returns those to run again: they met NOSCRIPT or got no answer (unless this
     * is the last attempt). A batch per key with replica acknowledgement ({@code EVALSHA} then {@code WAIT} on one
     * connection, all sent at once: Redisson reports one count of acknowledging replicas per batch, summed over its
     * nodes, and only a batch on one node tells that node's count), and for repeats.
     */
    private Rerun runPipeline(RedisScripts.Script lua, RScript.ReturnType type, List<String> keys,
            Object[][] args, List<Integer> pending, Object[] replies, int attempt, String action) {
        boolean last = attempt == SCRIPT_ATTEMPTS;
        boolean perKey = waitReplicas > 0 || attempt > 1;
        List<RBatch> batches = new ArrayList<>();
        int[] batchOf = new int[pending.size()];
        List<RFuture<Object>> futures = new ArrayList<>(pending.size());
        for (int n = 0; n < pending.size(); n++) {
            if (batches.isEmpty() || perKey) {
                batches.add(client.createBatch(batchOptions()));
            }
            batchOf[n] = batches.size() - 1;
            int i = pending.get(n);
            String redisKey = redisKey(keys.get(i));
            futures.add(batches.get(batchOf[n]).getScript(ByteArrayCodec.INSTANCE).evalShaAsync(redisKey,
                    RScript.Mode.READ_WRITE, lua.sha(), type, List.of(redisKey), args[i]));
        }
        List<CompletableFuture<BatchResult<?>>> executions = new ArrayList<>(batches.size());
        for (RBatch batch : batches) {
            executions.add(batch.executeAsync().toCompletableFuture());
        }
        CompletableFuture.allOf(executions.toArray(CompletableFuture[]::new)).handle((done, error) -> null).join();
        List<Integer> rerun = new ArrayList<>();
        boolean noScript = false;
        Throwable unexplained = null;
        for (int n = 0; n < futures.size(); n++) {
            int i = pending.get(n);
            CompletableFuture<Object> future = futures.get(n).toCompletableFuture();
            CompletableFuture<BatchResult<?>> execution = executions.get(batchOf[n]);
            Throwable batchError = execution.handle((result, error) -> error).join();
            if (!future.isDone()) {
                // the batch ended without answering this command: it may or may not have run
                if (last) {
                    throw new IdempotencyStoreException("Redis failed to " + action + ": no answer for this key"
                            + " after " + attempt + " attempts; it may have been changed", keys.get(i),
                            batchError == null ? null : unwrap(batchError));
                }
                rerun.add(i);
                continue;
            }
            Throwable failure = future.handle((reply, error) -> error).join();
            if (failure == null && batchError == null) {
                replies[i] = future.join();
                if (waitReplicas > 0) {
                    requireAcknowledged(execution.join().getSyncedSlaves(), keys.get(i), action);
                }
            } else if (failure != null && unwrap(failure) instanceof RedisNoScriptException && !last) {
                rerun.add(i);
                noScript = true;
            } else if (failure != null) {
                throw new IdempotencyStoreException("Redis failed to " + action, keys.get(i),
                        unwrap(batchError != null ? batchError : failure));
            } else {
                unexplained = batchError;
                replies[i] = future.join();
            }
        }
        if (rerun.isEmpty() && unexplained != null) {
            throw new IdempotencyStoreException("Redis failed to " + action, null, unwrap(unexplained));
        }
        return new Rerun(rerun, noScript);
    }

    private BatchOptions batchOptions() {
        BatchOptions options = BatchOptions.defaults().executionMode(BatchOptions.ExecutionMode.IN_MEMORY);
        return waitReplicas > 0 ? options.sync(waitReplicas, waitTimeout) : options;
    }

    /**
     * A write that fewer replicas than required acknowledged in time is a fault: the master has it, but a failover
     * now could lose it.
     */
    private void requireAcknowledged(int acknowledged, String key, String action) {
        if (acknowledged < waitReplicas) {
            throw new IdempotencyStoreException("Redis ran the call to " + action.split(";", 2)[0]
                    + " on the master, but only " + acknowledged
                    + " of the " + waitReplicas + " replicas required (replicaAcknowledgement) confirmed it within "
                    + waitTimeout.toMillis() + " ms: the change exists on the master and may be lost if it fails"
                    + " over before its replicas catch up; check the replicas' links (INFO replication), or require"
                    + " fewer replicas", key, null);
        }
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(result, "result");
        Object reply = eval(RedisScripts.COMPLETE, "complete a record", key, RScript.ReturnType.LONG,
                completionArgument(fencingToken, result, retentionArgs(retention)));
        return Replies.changed(key, reply);
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(failure, "failure");
        Object reply = eval(RedisScripts.FAIL, "record a failure", key, RScript.ReturnType.LONG,
                RecordFormat.failureArgument(fencingToken, retentionArgs(retention).fields(), callIdPrefix,
                        calls.incrementAndGet(), failure));
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
        return "RedisIdempotencyStore[keyPrefix=" + keyPrefix
                + (waitReplicas == 0 ? "" : ", replicaAcknowledgement=" + waitReplicas + " within " + waitTimeout) + "]";
    }

    /**
     * Runs a script by its digest; on NOSCRIPT loads it on the key's node and runs it again (a few times, in
     * case the script cache is flushed again meanwhile).
     */
    @SuppressWarnings("unchecked")
    private <R> R eval(RedisScripts.Script lua, String action, String key, RScript.ReturnType type, Object... args) {
        if (waitReplicas > 0 && lua != RedisScripts.FIND) {
            return (R) pipeline(lua, type, List.of(key), new Object[][] {args}, action).get(0);
        }
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
                    loadScript(lua, redisKey);
                }
            }
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("Redis failed to " + action, key, unwrap(e));
        }
    }

    /**
     * Loads a script that a node did not have. On every master, because the node that answered NOSCRIPT need not
     * be the one the client maps the key to: during a slot migration, Redis redirects a script whose key has
     * already moved to the importing node ({@code ASK}). When a master cannot be reached (a failover under way),
     * loads it at least on the key's node.
     */
    private void loadScript(RedisScripts.Script lua, String redisKey) {
        try {
            await(script.scriptLoadAsync(lua.text()));
        } catch (CompletionException e) {
            await(script.scriptLoadAsync(redisKey, lua.text()));
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

    /** The acquire script's argument: the lease's fields, the request hash and a new call id. */
    private byte[] acquireArgument(@Nullable String requestHash, DurationArgs lease) {
        return RecordFormat.acquireArgument(lease.fields(), requestHash, callIdPrefix, calls.incrementAndGet());
    }

    /** The complete script's argument: the token, the retention's field, a new call id and the result. */
    private byte[] completionArgument(long fencingToken, StoredResult result, DurationArgs retention) {
        return RecordFormat.completionArgument(fencingToken, retention.fields(), callIdPrefix, calls.incrementAndGet(),
                result.statusCode(), result.payload());
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

    /** A retention's argument: the field keep_ms (the scripts read the expiry from it). */
    private DurationArgs retentionArgs(Duration retention) {
        long millis = millis(retention, "retention");
        DurationArgs last = lastRetention;
        if (last.millis() != millis) {
            last = new DurationArgs(millis, EMPTY, RecordFormat.field(millis));
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
        private int waitReplicas;
        private Duration waitTimeout = Duration.ZERO;
        private EvictionPolicyCheck evictionPolicyCheck = EvictionPolicyCheck.WARN;

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
         * Makes every changing call wait until {@code replicas} replicas of the key's master have its write
         * ({@code WAIT replicas timeout} on the same connection, after the script), so that a claim or a completion
         * the store acknowledged survives the master's failover to one of them. Fewer acknowledgements within the
         * timeout are an {@link IdempotencyStoreException} (the change is on the master and may be lost), which the
         * engine handles like any store fault. Costs a round trip to the replicas per call, and a batch sends one
         * {@code EVALSHA} and {@code WAIT} per key (together). Off by default ({@code replicas} 0): a master's
         * acknowledgement alone ends a call, and a failover within the replication lag (usually below a
         * millisecond, unbounded when a replica falls behind) can lose it. {@code WAIT} makes a write durable on
         * the replicas only as far as Redis replication goes: it is not a consensus protocol (see docs/redis.md).
         *
         * @param replicas how many replicas must acknowledge, 0 to turn the wait off
         * @param timeout how long a call waits for them, positive, at most {@link Integer#MAX_VALUE} ms
         * @return this builder
         * @throws IllegalArgumentException naming the value out of range
         */
        public Builder replicaAcknowledgement(int replicas, Duration timeout) {
            Objects.requireNonNull(timeout, "timeout must not be null");
            if (replicas < 0) {
                throw new IllegalArgumentException("replicaAcknowledgement: replicas must be 0 (off) or more, was "
                        + replicas);
            }
            if (replicas > 0 && (timeout.isNegative() || timeout.isZero()
                    || timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0)) {
                throw new IllegalArgumentException("replicaAcknowledgement: timeout must be from 1 ms to "
                        + Integer.MAX_VALUE + " ms (WAIT with 0 would wait forever), was " + timeout);
            }
            this.waitReplicas = replicas;
            this.waitTimeout = replicas == 0 ? Duration.ZERO : Duration.ofMillis(Math.max(1, timeout.toMillis()));
            return this;
        }

        /**
         * What {@link #build()} does when a Redis node's {@code maxmemory-policy} can evict the store's records
         * (default {@link EvictionPolicyCheck#WARN}).
         *
         * @param check warn, refuse or do not look
         * @return this builder
         */
        public Builder evictionPolicyCheck(EvictionPolicyCheck check) {
            this.evictionPolicyCheck = Objects.requireNonNull(check, "evictionPolicyCheck must not be null");
            return this;
        }

        /**
         * Builds the store. Unless {@link #evictionPolicyCheck} is {@link EvictionPolicyCheck#OFF}, asks every node
         * of the client for its {@code maxmemory-policy} first (one {@code CONFIG GET} per node) and warns about, or
         * refuses, a policy that can evict records; a node that cannot be asked is logged as not checked. Scripts
         * are loaded on first use.
         *
         * @return the store
         * @throws IdempotencyConfigurationException with {@link EvictionPolicyCheck#REFUSE}, when a node can evict
         */
        public RedisIdempotencyStore build() {
            if (evictionPolicyCheck != EvictionPolicyCheck.OFF) {
                checkEvictionPolicies();
            }
            return new RedisIdempotencyStore(this);
        }

        private void checkEvictionPolicies() {
            List<String> evicting = new ArrayList<>();
            for (EvictionPolicies.NodePolicy node : EvictionPolicies.read(client)) {
                if (node.problem() != null) {
                    LOG.warn("Could not check whether Redis at {} may evict idempotency records (prefix {}): {};"
                            + " make sure its maxmemory-policy is noeviction", node.node(), keyPrefix, node.problem());
                } else if (node.evicts()) {
                    evicting.add(node.node() + " (maxmemory-policy " + node.policy() + ")");
                }
            }
            if (evicting.isEmpty()) {
                return;
            }
            String message = "Redis at " + String.join(", ", evicting) + " may evict idempotency records (prefix "
                    + keyPrefix + ") when memory runs short: every record has an expiry, and any maxmemory-policy"
                    + " but noeviction evicts such keys, after which the work of an evicted key runs again. Set"
                    + " maxmemory-policy noeviction on the server";
            if (evictionPolicyCheck == EvictionPolicyCheck.REFUSE) {
                throw new IdempotencyConfigurationException(message + ", or build the store with"
                        + " evictionPolicyCheck(WARN) or (OFF) to accept the risk");
            }
            LOG.warn("{}, or build the store with evictionPolicyCheck(REFUSE) to refuse such a server, or (OFF)"
                    + " not to check", message);
        }
    }
}
