package org.idempotency.redis;

import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.testkit.ForgetContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The forget contract on a real Redis Cluster of three masters. */
class RedisClusterForgetContractTest extends ForgetContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster-forget-contract");
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    @Override
    protected ForgettingIdempotencyStore createStore() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }
}
