package org.idempotency.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;

/**
 * Two application nodes (two Redisson clients, two {@link Idempotency} engines) racing on the same keys over
 * one Redis: each key's work runs exactly once, and every caller gets that one result.
 */
class RedisTwoNodesTest {

    @Test
    @DisplayName("two nodes racing on the same keys run each key's work exactly once")
    void exactlyOncePerKeyAcrossNodes() throws Exception {
        String prefix = TestRedis.uniquePrefix("two-nodes");
        RedissonClient clientA = TestRedis.newClient();
        RedissonClient clientB = TestRedis.newClient();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (Idempotency nodeA = engine(clientA, prefix); Idempotency nodeB = engine(clientB, prefix)) {
            IdempotentOperation<String> opA = nodeA.operation("pay", String.class);
            IdempotentOperation<String> opB = nodeB.operation("pay", String.class);
            int keys = 200;
            Map<Integer, AtomicInteger> runs = new ConcurrentHashMap<>();
            Map<Integer, List<String>> results = new ConcurrentHashMap<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                IdempotentOperation<String> op = t % 2 == 0 ? opA : opB;
                String node = t % 2 == 0 ? "A" : "B";
                int offset = (t / 2) * 7;
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < keys; i++) {
                        int k = (i + offset) % keys;
                        String result = op.execute("order-" + k, "hash-" + k, () -> {
                            runs.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
                            return "paid " + k + " on " + node;
                        });
                        results.computeIfAbsent(k, x -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(result);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(120, TimeUnit.SECONDS);
            }

            assertThat(runs).hasSize(keys);
            assertThat(runs.values()).allSatisfy(count -> assertThat(count).hasValue(1));
            assertThat(results.values()).allSatisfy(seen -> {
                assertThat(seen).hasSize(8);
                assertThat(seen).containsOnly(seen.get(0));
            });
            assertThat(results.values().stream().map(seen -> seen.get(0)).filter(r -> r.endsWith("on A")))
                    .as("both nodes won some keys").isNotEmpty();
            assertThat(results.values().stream().map(seen -> seen.get(0)).filter(r -> r.endsWith("on B")))
                    .as("both nodes won some keys").isNotEmpty();
        } finally {
            pool.shutdownNow();
            TestRedis.deleteKeys(clientA, prefix);
            clientA.shutdown();
            clientB.shutdown();
        }
    }

    private static Idempotency engine(RedissonClient client, String prefix) {
        RedisIdempotencyStore store = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
        return Idempotency.builder(store).waitForInProgress(Duration.ofSeconds(30)).build();
    }
}
