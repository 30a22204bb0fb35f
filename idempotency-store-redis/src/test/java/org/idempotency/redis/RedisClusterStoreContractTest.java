package org.idempotency.redis;

import java.time.Duration;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.IdempotencyStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The whole store contract against a real Redis Cluster of three masters (keys spread over every master). Time is
 * the server's, so expiry cases wait for real time, with a lease long enough that a loaded machine does not blur
 * "expired" and "gone".
 */
class RedisClusterStoreContractTest extends IdempotencyStoreContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster-store-contract");
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    @Override
    protected IdempotencyStore createStore() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }

    @Override
    protected Duration shortLease() {
        return Duration.ofMillis(800);
    }
}
