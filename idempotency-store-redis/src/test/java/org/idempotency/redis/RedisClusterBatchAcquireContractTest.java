package org.idempotency.redis;

import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.testkit.BatchAcquireContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The batch-acquire contract on a real Redis Cluster: each batch spans the three masters, one pipeline per node.
 */
class RedisClusterBatchAcquireContractTest extends BatchAcquireContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster-batch-contract");
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    @Override
    protected BatchAcquiringIdempotencyStore createStore() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }
}
