package org.idempotency.redis;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.IdempotencyExecutionContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The whole execution contract ({@code execute} end to end) over the Redis store on a real Redis Cluster of three
 * masters.
 */
class RedisClusterExecutionContractTest extends IdempotencyExecutionContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster-execution-contract");
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

    /**
     * 2,000 keys, over all three masters: the store's code is the same as on one server, where
     * {@link RedisExecutionContractTest} runs the full count; here the case checks the routing, in a fifth of the
     * time.
     */
    @Override
    protected int manyKeysCount() {
        return 2_000;
    }
}
