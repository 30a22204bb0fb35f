package org.idempotency.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.redisson.Redisson;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.Config;

/**
 * A rough observation, not a benchmark and not a test: what replica acknowledgement ({@code WAIT}) adds to a
 * first call (acquire, then complete) on the master 127.0.0.1:6390 with its replica 6391 on the same machine, both
 * started by {@code scripts/redis-topology.sh}. One thread; each round times N keys per case, the cases in turn,
 * and the median round is printed, next to a floor measured in the same run (Redis {@code SET NX PX} then
 * {@code SET XX PX} through the same client). Run from the module after {@code mvn test-compile}:
 *
 * <pre>
 * java -cp target/test-classes:target/classes:$(mvn -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout) \
 *     org.idempotency.redis.ReplicaAcknowledgementCost
 * </pre>
 */
final class ReplicaAcknowledgementCost {

    private static final int KEYS = 2000;
    private static final int WARMUP_ROUNDS = 3;
    private static final int ROUNDS = 7;
    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final byte[] RESULT = "{\"order\":42,\"status\":\"paid\",\"amount\":\"19.99\"}"
            .getBytes(StandardCharsets.UTF_8);

    private ReplicaAcknowledgementCost() {
    }

    public static void main(String[] args) {
        Config config = new Config();
        config.useSingleServer().setAddress("redis://127.0.0.1:6390");
        RedissonClient client = Redisson.create(config);
        String prefix = TestRedis.uniquePrefix("wait-cost");
        try {
            RedisIdempotencyStore plain = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
            RedisIdempotencyStore waiting = RedisIdempotencyStore.builder(client).keyPrefix(prefix)
                    .replicaAcknowledgement(1, Duration.ofSeconds(1)).build();
            String[] names = {"floor: SET NX PX + SET XX PX", "store, replicaAcknowledgement off",
                    "store, replicaAcknowledgement(1, 1s)"};
            List<double[]> rounds = new ArrayList<>();
            for (int round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
                double[] micros = new double[3];
                micros[0] = time(() -> floor(client, prefix));
                micros[1] = time(() -> firstCalls(plain));
                micros[2] = time(() -> firstCalls(waiting));
                if (round >= WARMUP_ROUNDS) {
                    rounds.add(micros);
                }
                TestRedis.deleteKeys(client, prefix);
            }
            System.out.printf(Locale.ROOT, "%d keys per case and round, %d rounds after %d warm-up rounds;"
                    + " median µs per key (acquire + complete)%n", KEYS, ROUNDS, WARMUP_ROUNDS);
            double floor = median(rounds, 0);
            for (int c = 0; c < names.length; c++) {
                double median = median(rounds, c);
                System.out.printf(Locale.ROOT, "%-40s %8.1f µs  %5.2f x floor%n", names[c], median, median / floor);
            }
        } finally {
            TestRedis.deleteKeys(client, prefix);
            client.shutdown();
        }
    }

    private static double time(Runnable body) {
        long start = System.nanoTime();
        body.run();
        return (System.nanoTime() - start) / 1000.0 / KEYS;
    }

    private static void floor(RedissonClient client, String prefix) {
        for (int i = 0; i < KEYS; i++) {
            RBucket<byte[]> bucket = client.getBucket(prefix + "floor:" + System.nanoTime() + i, ByteArrayCodec.INSTANCE);
            bucket.setIfAbsent(new byte[] {'P'}, LEASE);
            bucket.setIfExists(RESULT, Duration.ofHours(1));
        }
    }

    private static void firstCalls(RedisIdempotencyStore store) {
        for (int i = 0; i < KEYS; i++) {
            String key = "pay:" + System.nanoTime() + "-" + i;
            long token = ((AcquireResult.Acquired) store.acquire(key, "h", LEASE)).fencingToken();
            store.complete(key, token, StoredResult.of(RESULT), Duration.ofHours(1));
        }
    }

    private static double median(List<double[]> rounds, int index) {
        double[] values = rounds.stream().mapToDouble(r -> r[index]).toArray();
        Arrays.sort(values);
        return values[values.length / 2];
    }
}
