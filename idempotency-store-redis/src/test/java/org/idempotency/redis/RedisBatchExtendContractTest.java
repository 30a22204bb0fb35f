package org.idempotency.redis;

import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.testkit.BatchExtendContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The batch-extend contract against a real Redis: one pipelined round trip per batch. */
class RedisBatchExtendContractTest extends BatchExtendContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedis.newClient();
        prefix = TestRedis.uniquePrefix("extend-contract");
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
