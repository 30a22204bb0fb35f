package org.idempotency.redis;

import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.testkit.BatchAcquireContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The batch-acquire contract against a real Redis: one pipelined round trip per batch. */
class RedisBatchAcquireContractTest extends BatchAcquireContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedis.newClient();
        prefix = TestRedis.uniquePrefix("batch-contract");
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
