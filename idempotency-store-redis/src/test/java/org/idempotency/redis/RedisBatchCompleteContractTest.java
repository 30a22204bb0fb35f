package org.idempotency.redis;

import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.testkit.BatchCompleteContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The batch-complete contract against a real Redis: one pipelined round trip per batch. */
class RedisBatchCompleteContractTest extends BatchCompleteContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedis.newClient();
        prefix = TestRedis.uniquePrefix("complete-contract");
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
