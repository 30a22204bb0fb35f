package org.idempotency.redis;

/**
 * What {@link RedisIdempotencyStore.Builder#build()} does about a Redis server that may evict the store's records.
 * Every record carries an expiry, so any {@code maxmemory-policy} but {@code noeviction} ({@code volatile-*} as
 * much as {@code allkeys-*}) lets Redis delete a record when memory runs short, before its time, and a key whose
 * record was evicted runs its work again. At build time the store reads the policy of every node its client knows
 * ({@code CONFIG GET maxmemory-policy}, masters and replicas); a server that refuses {@code CONFIG} (managed
 * services often rename it) or cannot be asked is logged as not checked, whatever this setting says. Immutable.
 */
public enum EvictionPolicyCheck {

    /** Logs a warning naming each node whose policy can evict records, and builds the store (the default). */
    WARN,

    /**
     * Refuses to build the store, with an {@link org.idempotency.api.IdempotencyConfigurationException} naming each
     * node whose policy can evict records and the policy.
     */
    REFUSE,

    /** Does not look: the build contacts no server. */
    OFF
}
