/**
 * The Redis store of the idempotency library, on Redisson: {@link org.idempotency.redis.RedisIdempotencyStore},
 * built with its builder over an application's {@code RedissonClient} or discovered as provider {@code redis}.
 */
module org.idempotency.redis {
    requires transitive org.idempotency.api;
    requires transitive redisson;
    // Redisson is an automatic module, so it cannot say which named modules it needs, and the module system
    // resolves none of them for it. Required here on its behalf, so that an application on the module path
    // needs no --add-modules: Netty's DNS resolver (which requires the rest of the Netty modules Redisson's
    // client uses) and SnakeYAML (which Redisson's Config class loads). See docs/jpms.md.
    requires io.netty.resolver.dns;
    requires org.yaml.snakeyaml;
    requires org.slf4j;
    // Netty's buffers: Redisson's codec interface hands them out (see internal.ScriptCodec)
    requires io.netty.buffer;
    requires static transitive org.jspecify;

    exports org.idempotency.redis;

    provides org.idempotency.api.spi.IdempotencyStoreProvider
            with org.idempotency.redis.internal.RedisStoreProvider;
}
