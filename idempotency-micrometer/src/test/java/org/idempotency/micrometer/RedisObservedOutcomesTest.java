package org.idempotency.micrometer;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.redis.RedisIdempotencyStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

@DisplayName("observed outcomes over Redis")
class RedisObservedOutcomesTest extends ObservedOutcomesContract {

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        Config config = new Config();
        config.useSingleServer().setAddress(TestServices.redisAddress());
        client = Redisson.create(config);
        prefix = TestServices.uniqueRedisPrefix("micrometer");
    }

    @AfterAll
    static void disconnect() {
        try {
            client.getKeys().deleteByPattern(prefix + "*");
        } finally {
            client.shutdown();
        }
    }

    @Override
    protected IdempotencyStore store() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }

    @Override
    protected String storeTag() {
        return "redis";
    }
}
