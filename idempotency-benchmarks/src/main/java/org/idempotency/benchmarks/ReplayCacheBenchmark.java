package org.idempotency.benchmarks;

import static org.idempotency.benchmarks.BenchData.HASH;
import static org.idempotency.benchmarks.BenchData.ORDER;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.benchmarks.BenchData.Order;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.redis.RedisIdempotencyStore;
import org.jdbi.v3.core.Jdbi;
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
 * Replays answered by the engine's replay cache, next to the raw read a hand-written replay makes and the
 * engine's replay without the cache, on one store and one client or pool in the same run:
 * <ul>
 *   <li>{@code cachedReplay}: {@code execute} of a completed key on an engine with
 *       {@link Idempotency.Builder#replayCache}: the hash check and the decoding of the result, no store call;</li>
 *   <li>{@code uncachedReplay}: the same on an engine without the cache (the acquire finds the record);</li>
 *   <li>{@code floor}: the raw read of the stored result: one {@code GET} (Redis, through the same Redisson
 *       client), one primary-key {@code SELECT} (PostgreSQL, through the same Jdbi and pool).</li>
 * </ul>
 * Each call replays one of {@value #KEYS} completed keys in turn. The target: a cached replay at least 10 times
 * the floor's throughput. {@code -p store=redis} or {@code -p store=postgresql}; the services are those of
 * {@link BenchData} ({@code IDEMPOTENCY_REDIS_URL}, {@code IDEMPOTENCY_POSTGRES_URL}). Keys and tables are the
 * run's own and removed at the end.
 *
 * <p>{@link #main} runs the same three cases outside JMH, interleaved in rounds, and takes the ratios per round
 * (paired), so that load from other processes falls on all three alike.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class ReplayCacheBenchmark {

    static final int KEYS = 1_000;

    /** {@code redis} or {@code postgresql}. */
    @Param({"redis", "postgresql"})
    public String store;

    private final AtomicLong sequence = new AtomicLong();
    private final String[] keys = new String[KEYS];
    private Idempotency cached;
    private Idempotency uncached;
    private IdempotentOperation<Order> cachedOperation;
    private IdempotentOperation<Order> uncachedOperation;
    private RedissonClient client;
    private String prefix;
    private final List<RBucket<byte[]>> buckets = new ArrayList<>();
    private HikariDataSource pool;
    private Jdbi jdbi;
    private String table;
    private String select;

    @Setup(Level.Trial)
    public void setUp() {
        IdempotencyStore idempotencyStore;
        String run = BenchData.runId();
        switch (store) {
            case "redis" -> {
                Config config = new Config();
                config.useSingleServer().setAddress(BenchData.redisAddress());
                client = Redisson.create(config);
                prefix = "idempotency-cache-bench-" + run + ":";
                idempotencyStore = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
            }
            case "postgresql" -> {
                HikariConfig config = new HikariConfig();
                config.setJdbcUrl(BenchData.postgresUrl());
                config.setPoolName("idempotency-cache-benchmark");
                config.setMaximumPoolSize(10);
                pool = new HikariDataSource(config);
                jdbi = Jdbi.create(pool);
                table = "idem_cache_bench_" + run;
                JdbiIdempotencyStore jdbiStore = JdbiIdempotencyStore.builder(jdbi).table(table).build();
                jdbiStore.createSchema();
                idempotencyStore = jdbiStore;
                select = "SELECT response FROM " + table + " WHERE idempotency_key = :key";
            }
            default -> throw new IllegalArgumentException("store is redis or postgresql, was " + store);
        }
        cached = Idempotency.builder(idempotencyStore).purgeInterval(Duration.ZERO)
                .replayCache(10 * KEYS, 16L << 20).build();
        uncached = Idempotency.builder(idempotencyStore).purgeInterval(Duration.ZERO).build();
        cachedOperation = cached.operation("bench", Order.class);
        uncachedOperation = uncached.operation("bench", Order.class);
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "replayed-" + i;
            uncachedOperation.execute(keys[i], HASH, () -> ORDER);
            if (client != null) {
                buckets.add(client.getBucket(((RedisIdempotencyStore) idempotencyStore)
                        .redisKey(uncachedOperation.storedKey(keys[i])), ByteArrayCodec.INSTANCE));
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cached.close();
        uncached.close();
        if (client != null) {
            client.getKeys().unlinkByPattern(prefix + "*");
            client.shutdown();
        }
        if (pool != null) {
            jdbi.useHandle(h -> h.execute("DROP TABLE IF EXISTS " + table + " CASCADE"));
            pool.close();
        }
    }

    private int next() {
        return (int) (sequence.getAndIncrement() % KEYS);
    }

    @Benchmark
    public Order cachedReplay() {
        return cachedOperation.execute(keys[next()], HASH, () -> ORDER);
    }

    @Benchmark
    public Order uncachedReplay() {
        return uncachedOperation.execute(keys[next()], HASH, () -> ORDER);
    }

    @Benchmark
    public Object floor() {
        int i = next();
        if (client != null) {
            return buckets.get(i).get();
        }
        String key = uncachedOperation.storedKey(keys[i]);
        return jdbi.withHandle(h -> h.createQuery(select).bind("key", key).mapTo(byte[].class).one());
    }

    /**
     * The three cases outside JMH, interleaved: each round times {@code calls} floor reads, uncached replays and
     * cached replays, in a rotating order, and the ratios are taken per round. The first rounds warm up and are
     * not counted. Arguments: store ({@code redis} or {@code postgresql}), rounds (default 20), warm-up rounds
     * (default 5), calls per case and round (default 2,000).
     */
    public static void main(String[] args) {
        String store = args.length > 0 ? args[0] : "redis";
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int calls = args.length > 3 ? Integer.parseInt(args[3]) : 2_000;
        List<double[]> measured = pairedRounds(store, rounds, warmup, calls, true);
        System.out.printf("%n%d rounds of %d calls each, store %s (mean ± 99.9%% confidence half-width; median)%n",
                rounds, calls, store);
        PairedStats.report("floor, µs a call", measured, m -> m[0]);
        PairedStats.report("uncached replay, µs a call", measured, m -> m[1]);
        PairedStats.report("cached replay, µs a call", measured, m -> m[2]);
        PairedStats.report("uncached replay / floor (throughput)", measured, m -> m[0] / m[1]);
        PairedStats.report("cached replay / floor (throughput)", measured, m -> m[0] / m[2]);
    }

    /**
     * Runs the paired rounds of {@link #main} and returns the measured ones: per round, the µs a call of the
     * floor, the uncached replay and the cached replay.
     *
     * @param print whether to print each round as it ends
     */
    static List<double[]> pairedRounds(String store, int rounds, int warmup, int calls, boolean print) {
        ReplayCacheBenchmark benchmark = new ReplayCacheBenchmark();
        benchmark.store = store;
        benchmark.setUp();
        long checksum = 0;
        List<double[]> measured = new ArrayList<>();
        try {
            for (int round = 0; round < warmup + rounds; round++) {
                double[] micros = new double[3];
                for (int i = 0; i < 3; i++) {
                    int mode = (round + i) % 3;
                    long start = System.nanoTime();
                    for (int n = 0; n < calls; n++) {
                        Object value = switch (mode) {
                            case 0 -> benchmark.floor();
                            case 1 -> benchmark.uncachedReplay();
                            default -> benchmark.cachedReplay();
                        };
                        checksum += value == null ? 0 : 1;
                    }
                    micros[mode] = (System.nanoTime() - start) / 1e3 / calls;
                }
                if (print) {
                    System.out.printf("round %2d%s: floor %8.2f µs, uncached %8.2f µs (%.2fx), cached %8.3f µs"
                            + " (%.1fx)%n", round + 1, round < warmup ? " (warm-up)" : "", micros[0], micros[1],
                            micros[0] / micros[1], micros[2], micros[0] / micros[2]);
                }
                if (round >= warmup) {
                    measured.add(micros);
                }
            }
        } finally {
            benchmark.tearDown();
        }
        if (checksum != (long) (warmup + rounds) * 3 * calls) {
            throw new IllegalStateException("a call returned nothing: " + checksum + " results");
        }
        return measured;
    }
}
