package org.idempotency.redis;

import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.testkit.ForgetContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The forget contract against a real Redis. */
class RedisForgetContractTest extends ForgetContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedis.newClient();
        prefix = TestRedis.uniquePrefix("forget-contract");
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
