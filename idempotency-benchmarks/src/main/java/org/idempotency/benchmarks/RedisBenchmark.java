package org.idempotency.benchmarks;

import static org.idempotency.benchmarks.BenchData.HASH;
import static org.idempotency.benchmarks.BenchData.ORDER;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.TypeRef;
import org.idempotency.benchmarks.BenchData.Order;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.redis.RedisIdempotencyStore;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.redisson.Redisson;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.Config;

/**
 * The Redis store through the whole engine ({@code execute}) next to raw Redis commands sent through the same
 * Redisson client in the same run. Every thread of a run shares the client and the engine.
 *
 * <ul>
 *   <li>{@code firstCall}: acquire script, work, encode, complete script; floor: {@code SET key NX PX} then
 *       {@code SET key XX PX} with the encoded result; {@code firstCallSeed}: the seed design's three commands,
 *       {@code GET} (a miss), {@code SET NX PX} of a marker, {@code SET PX} of the result;</li>
 *   <li>{@code replay}: the acquire script returns the completed record, hash check, decode; floor: one
 *       {@code GET};</li>
 *   <li>{@code contention}: {@value BenchData#CALLS_PER_CONTENDED_KEY} consecutive calls share a key: one runs
 *       the work, the others replay it or get the in-progress answer; floor: {@code SET NX PX}, then
 *       {@code SET XX PX} for the winner and a {@code GET} for the others.</li>
 * </ul>
 *
 * <p>The server is {@code IDEMPOTENCY_REDIS_URL}, else {@code redis://127.0.0.1:6379}, reached directly or, with
 * {@code network=200us}, through a {@link LatencyProxy} adding 200 µs each way. Every key lives under a prefix of
 * its own run, expires within a minute and is deleted at the end.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
@State(Scope.Benchmark)
public class RedisBenchmark {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration RETENTION = Duration.ofMinutes(1);
    private static final byte[] PROCESSING = {'p'};

    /**
     * Between client and server: {@code loopback} (direct), or a {@link LatencyProxy} adding a delay each way,
     * such as {@code 200us} (a network within one region).
     */
    @Param({"loopback"})
    public String network;

    private final AtomicLong sequence = new AtomicLong();
    private RedissonClient client;
    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;
    private byte[] encoded;
    private String prefix;
    private RBucket<byte[]> replayBucket;
    private @Nullable LatencyProxy proxy;

    @Setup(Level.Trial)
    public void setUp() {
        proxy = BenchData.redisProxy(network);
        Config config = new Config();
        config.useSingleServer().setAddress(BenchData.redisAddress(proxy));
        client = Redisson.create(config);
        prefix = "idempotency-bench-" + BenchData.runId() + ":";
        RedisIdempotencyStore store = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
        idempotency = Idempotency.builder(store).lease(LEASE).retention(RETENTION).build();
        operation = idempotency.operation("bench", Order.class);
        encoded = JacksonResultCodec.create().forType(TypeRef.of(Order.class)).encode(ORDER);
        operation.execute("replayed", HASH, () -> ORDER);
        replayBucket = bucket("floor:replayed");
        replayBucket.set(encoded, RETENTION.multipliedBy(10));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        idempotency.close();
        client.getKeys().unlinkByPattern(prefix + "*");
        client.shutdown();
        if (proxy != null) {
            proxy.close();
        }
    }

    private RBucket<byte[]> bucket(String key) {
        return client.getBucket(prefix + key, ByteArrayCodec.INSTANCE);
    }

    private String nextKey() {
        return "k" + sequence.getAndIncrement();
    }

    @Benchmark
    public Order firstCall() {
        return operation.execute(nextKey(), HASH, () -> ORDER);
    }

    @Benchmark
    public boolean firstCallFloor() {
        RBucket<byte[]> bucket = bucket("floor:" + nextKey());
        bucket.setIfAbsent(PROCESSING, LEASE);
        return bucket.setIfExists(encoded, RETENTION);
    }

    @Benchmark
    public boolean firstCallSeed() {
        RBucket<byte[]> bucket = bucket("seed:" + nextKey());
        if (bucket.get() != null) {
            return false;
        }
        if (!bucket.setIfAbsent(PROCESSING, RETENTION)) {
            return false;
        }
        bucket.set(encoded, RETENTION);
        return true;
    }

    @Benchmark
    public Order replay() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    @Benchmark
    public byte[] replayFloor() {
        return replayBucket.get();
    }

    @Benchmark
    public Order contention() {
        try {
            return operation.execute(BenchData.contendedKey("", sequence.getAndIncrement()), HASH, () -> ORDER);
        } catch (IdempotencyInProgressException e) {
            return null;
        }
    }

    @Benchmark
    public byte[] contentionFloor() {
        RBucket<byte[]> bucket = bucket(BenchData.contendedKey("floor:", sequence.getAndIncrement()));
        if (bucket.setIfAbsent(PROCESSING, LEASE)) {
            bucket.setIfExists(encoded, RETENTION);
            return encoded;
        }
        byte[] found = bucket.get();
        return Arrays.equals(found, PROCESSING) ? null : found;
    }
}
