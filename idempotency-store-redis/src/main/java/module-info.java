/**
 * The Redis store of the idempotency library, on Redisson: {@link org.idempotency.redis.RedisIdempotencyStore},
 * built with its builder over an application's {@code RedissonClient} or discovered as provider {@code redis}.
 */
module org.idempotency.redis {
    requires transitive org.idempotency.api;
    requires transitive redisson;
    requires static transitive org.jspecify;

    exports org.idempotency.redis;

    provides org.idempotency.api.spi.IdempotencyStoreProvider
            with org.idempotency.redis.internal.RedisStoreProvider;
}
