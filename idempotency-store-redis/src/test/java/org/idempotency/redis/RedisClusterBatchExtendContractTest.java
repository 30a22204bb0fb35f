package org.idempotency.redis;

import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.testkit.BatchExtendContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The batch-extend contract on a real Redis Cluster: each batch spans the three masters, one pipeline per node.
 */
class RedisClusterBatchExtendContractTest extends BatchExtendContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster-extend-contract");
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    @Override
    protected BatchExtendingIdempotencyStore createStore() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }
}
