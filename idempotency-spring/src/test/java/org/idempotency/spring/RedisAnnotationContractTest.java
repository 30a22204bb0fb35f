package org.idempotency.spring;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.redis.RedisIdempotencyStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/** The execution contract through {@code @Idempotent}, over the Redis store on a real Redis. */
class RedisAnnotationContractTest extends AnnotationExecutionContract {

    private static final String PREFIX = TestServices.unique("contract") + ":";
    private static RedissonClient redisson;

    @BeforeAll
    static void connect() {
        Config config = new Config();
        config.useSingleServer().setAddress(TestServices.redisAddress());
        redisson = Redisson.create(config);
    }

    @AfterAll
    static void disconnect() {
        redisson.getKeys().deleteByPattern(PREFIX + "*");
        redisson.shutdown();
    }

    @Override
    protected IdempotencyStore createStore() {
        return RedisIdempotencyStore.builder(redisson).keyPrefix(PREFIX).build();
    }

    /** The engine's own contract run over this store covers the full count; through the proxy, a tenth suffices. */
    @Override
    protected int manyKeysCount() {
        return 1_000;
    }
}
