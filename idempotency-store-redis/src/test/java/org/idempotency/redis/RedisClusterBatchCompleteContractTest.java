package org.idempotency.redis;

import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.testkit.BatchCompleteContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The batch-complete contract on a real Redis Cluster: each batch spans the three masters, one pipeline per node.
 */
class RedisClusterBatchCompleteContractTest extends BatchCompleteContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster-complete-contract");
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    @Override
    protected BatchCompletingIdempotencyStore createStore() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }
}
