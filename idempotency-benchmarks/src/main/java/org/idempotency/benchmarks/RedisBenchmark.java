package org.idempotency.benchmarks;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.StoredResult;
import org.idempotency.api.TypeRef;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.redis.RedisIdempotencyStore;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.redisson.Redisson;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.Config;

/**
 * The Redis store through the whole engine ({@code execute}) next to raw Redis commands sent through the same
 * Redisson client in the same run, on one thread:
 * <ul>
 *   <li>a first call ({@code executeFirstCall}: acquire script, work, complete script) against the raw
 *       two-command floor {@code SET key NX PX} then {@code SET key XX PX} ({@code rawSetNxThenSetXx}), and
 *       against the seed design's three-command flow {@code GET}, {@code SET NX PX}, {@code SET PX}
 *       ({@code seedGetSetNxSet});</li>
 *   <li>a replay ({@code executeReplay}: acquire script returning the completed record, hash check, decode)
 *       against a raw {@code GET} ({@code rawGet}).</li>
 * </ul>
 * On a machine shared with other work, load changes between one benchmark and the next, which skews the
 * ratio of two separately measured throughputs. The {@code paired*} benchmarks therefore run ours and the
 * floors alternately inside one benchmark call (rotating which goes first) and report the time each took in
 * the same moments, as counters: their ratios are immune to that drift.
 *
 * <p>The server is {@code IDEMPOTENCY_REDIS_URL} or {@code redis://127.0.0.1:6379}. Every key lives under a
 * prefix of its own run, expires within two minutes and is deleted at the end.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 8, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Threads(1)
@State(Scope.Thread)
public class RedisBenchmark {

    /** A typical small result. */
    public record Order(String id, String customer, long amountCents, List<String> items) {
    }

    private static final Order ORDER = new Order("ord-1", "cust-42", 1999, List.of("book", "pen"));
    private static final String HASH = "5d41402abc4b2a76b9719d911017c592ae4f1a5b0c4c6f5c7e2b1f9a3c2d1e0f";
    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration RETENTION = Duration.ofMinutes(1);
    private static final byte[] PROCESSING = {'p'};

    /** Nanoseconds spent in each variant by the paired benchmarks in one iteration; ratios are what count. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class PairedNanos {
        /** Time in {@code execute} (first calls or replays). */
        public long ours;
        /** Time in the raw floor ({@code SET NX PX} + {@code SET XX PX}, or {@code GET}). */
        public long raw;
        /** Time in the seed design's {@code GET}, {@code SET NX PX}, {@code SET PX} (first calls only). */
        public long seed;
        /** Time in the store alone, without the engine: its acquire and complete scripts, or its acquire. */
        public long store;

        @Setup(Level.Iteration)
        public void reset() {
            ours = 0;
            raw = 0;
            seed = 0;
            store = 0;
        }
    }

    private int turn;

    private RedissonClient client;
    private RedisIdempotencyStore store;
    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;
    private byte[] encoded;
    private String prefix;
    private RBucket<byte[]> replayBucket;
    private long next;

    @Setup(Level.Trial)
    public void setUp() {
        String address = System.getenv().getOrDefault("IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379");
        Config config = new Config();
        config.useSingleServer().setAddress(address);
        client = Redisson.create(config);
        prefix = "idempotency-bench:" + UUID.randomUUID().toString().substring(0, 8) + ":";
        store = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
        idempotency = Idempotency.builder(store).lease(LEASE).retention(RETENTION).build();
        operation = idempotency.operation("bench", Order.class);
        ResultCodec.Typed<Order> codec = JacksonResultCodec.create().forType(TypeRef.of(Order.class));
        encoded = codec.encode(ORDER);
        operation.execute("replayed", HASH, () -> ORDER);
        replayBucket = client.getBucket(prefix + "raw:replayed", ByteArrayCodec.INSTANCE);
        replayBucket.set(encoded, RETENTION.multipliedBy(2));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        idempotency.close();
        client.getKeys().unlinkByPattern(prefix + "*");
        client.shutdown();
    }

    private String nextKey() {
        return "k" + next++;
    }

    /** A first call through the engine: validate, acquire (one script), renewal scheduled, encode, complete. */
    @Benchmark
    public Order executeFirstCall() {
        return operation.execute(nextKey(), HASH, () -> ORDER);
    }

    /** A replay through the engine: validate, acquire (finds the completed record), check the hash, decode. */
    @Benchmark
    public Order executeReplay() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    /** The floor of a first call: {@code SET key NX PX}, then {@code SET key XX PX} with the encoded result. */
    @Benchmark
    public boolean rawSetNxThenSetXx() {
        RBucket<byte[]> bucket = client.getBucket(prefix + "raw:" + nextKey(), ByteArrayCodec.INSTANCE);
        bucket.setIfAbsent(PROCESSING, LEASE);
        return bucket.setIfExists(encoded, RETENTION);
    }

    /** The seed design's first call: {@code GET} (a miss), {@code SET NX PX} ("processing"), then {@code SET PX}. */
    @Benchmark
    public boolean seedGetSetNxSet() {
        RBucket<byte[]> bucket = client.getBucket(prefix + "seed:" + nextKey(), ByteArrayCodec.INSTANCE);
        if (bucket.get() != null) {
            return false;
        }
        if (!bucket.setIfAbsent(PROCESSING, RETENTION)) {
            return false;
        }
        bucket.set(encoded, RETENTION);
        return true;
    }

    /** The floor of a replay: one {@code GET} of the stored bytes. */
    @Benchmark
    public byte[] rawGet() {
        return replayBucket.get();
    }

    /** The store's own share of a first call: its acquire and complete scripts, with the encoded result. */
    private boolean storeFirstCall() {
        String key = "bench:" + nextKey();
        long token = ((AcquireResult.Acquired) store.acquire(key, HASH, LEASE)).fencingToken();
        return store.complete(key, token, StoredResult.of(encoded), RETENTION);
    }

    /**
     * A first call through the engine, the same through the store alone, its raw floor and the seed's flow,
     * one after the other in a rotating order, each timed apart.
     */
    @Benchmark
    public void pairedFirstCall(PairedNanos nanos) {
        int order = turn++ % 4;
        for (int step = 0; step < 4; step++) {
            int variant = (order + step) % 4;
            long start = System.nanoTime();
            if (variant == 0) {
                executeFirstCall();
                nanos.ours += System.nanoTime() - start;
            } else if (variant == 1) {
                rawSetNxThenSetXx();
                nanos.raw += System.nanoTime() - start;
            } else if (variant == 2) {
                seedGetSetNxSet();
                nanos.seed += System.nanoTime() - start;
            } else {
                storeFirstCall();
                nanos.store += System.nanoTime() - start;
            }
        }
    }

    /**
     * A replay through the engine, the store's acquire of the completed record alone, and a raw {@code GET},
     * one after the other in a rotating order, each timed apart.
     */
    @Benchmark
    public void pairedReplay(PairedNanos nanos) {
        int order = turn++ % 3;
        for (int step = 0; step < 3; step++) {
            int variant = (order + step) % 3;
            long start = System.nanoTime();
            if (variant == 0) {
                executeReplay();
                nanos.ours += System.nanoTime() - start;
            } else if (variant == 1) {
                rawGet();
                nanos.raw += System.nanoTime() - start;
            } else {
                store.acquire("bench:replayed", HASH, LEASE);
                nanos.store += System.nanoTime() - start;
            }
        }
    }
}
