package org.idempotency.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.spi.AcquireResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The eviction-policy check at build time, against the server on 127.0.0.1:6392 that
 * {@code scripts/redis-topology.sh} starts for it (each test sets the policy it needs and puts back
 * {@code noeviction}), and against the test cluster's replicas.
 */
class RedisEvictionPolicyTest {

    private static final int PORT = 6392;
    private static final String ADDRESS = "127.0.0.1:" + PORT;

    private static RedissonClient client;
    private static String prefix;
    private final String user = "idempotency-test-noconfig-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    static void connect() {
        client = client(null);
        prefix = TestRedis.uniquePrefix("eviction");
    }

    @AfterAll
    static void disconnect() {
        if (client != null) {
            TestRedis.deleteKeys(client, prefix);
            client.shutdown();
        }
    }

    @AfterEach
    void restore() {
        try (RedisAdmin admin = RedisAdmin.connect(PORT)) {
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction");
            admin.call("ACL", "DELUSER", user);
        }
    }

    private static RedissonClient client(String[] credentials) {
        if (!TestRedis.answersPing("127.0.0.1", PORT)) {
            throw new IllegalStateException("No Redis on " + ADDRESS + " for the eviction-policy tests: run"
                    + " scripts/redis-topology.sh");
        }
        Config config = new Config();
        config.useSingleServer().setAddress("redis://" + ADDRESS);
        if (credentials != null) {
            config.setUsername(credentials[0]);
            config.setPassword(credentials[1]);
        }
        try {
            return Redisson.create(config);
        } catch (RuntimeException e) {
            throw new IllegalStateException("No Redis on " + ADDRESS + ": run scripts/redis-topology.sh: " + e, e);
        }
    }

    private static void policy(String policy) {
        try (RedisAdmin admin = RedisAdmin.connect(PORT)) {
            admin.call("CONFIG", "SET", "maxmemory-policy", policy);
        }
    }

    private static RedisIdempotencyStore.Builder builder(RedissonClient client) {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix);
    }

    /** What the store logged (SLF4J's simple logger writes to the current System.err) while building. */
    private static String logOf(Supplier<RedisIdempotencyStore> build) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            build.get();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "maxmemory-policy {0}")
    @ValueSource(strings = {"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl"})
    @DisplayName("REFUSE refuses a server whose policy evicts keys with an expiry, naming the node and the policy")
    void refusesEvictingPolicies(String evicting) {
        policy(evicting);
        assertThatThrownBy(() -> builder(client).evictionPolicyCheck(EvictionPolicyCheck.REFUSE).build())
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining(ADDRESS)
                .hasMessageContaining("maxmemory-policy " + evicting)
                .hasMessageContaining("Set maxmemory-policy noeviction")
                .hasMessageContaining("evictionPolicyCheck");
    }

    @Test
    @DisplayName("WARN, the default, builds the store and logs a warning naming the node and the policy")
    void warnsByDefault() {
        policy("volatile-lru");
        String[] built = new String[1];
        String log = logOf(() -> {
            RedisIdempotencyStore store = builder(client).build();
            built[0] = store.acquire("op:" + UUID.randomUUID(), "h", Duration.ofSeconds(5)).getClass().getSimpleName();
            return store;
        });
        assertThat(log).contains("WARN").contains(ADDRESS).contains("maxmemory-policy volatile-lru")
                .contains("evictionPolicyCheck(REFUSE)");
        assertThat(built[0]).isEqualTo(AcquireResult.Acquired.class.getSimpleName());
    }

    @Test
    @DisplayName("noeviction passes, with neither a warning nor a refusal")
    void noEvictionPasses() {
        policy("noeviction");
        assertThat(logOf(() -> builder(client).evictionPolicyCheck(EvictionPolicyCheck.REFUSE).build())).isEmpty();
        assertThat(logOf(() -> builder(client).build())).isEmpty();
    }

    @Test
    @DisplayName("OFF asks nothing: an evicting policy passes without a word")
    void offDoesNotLook() {
        policy("allkeys-lru");
        assertThat(logOf(() -> builder(client).evictionPolicyCheck(EvictionPolicyCheck.OFF).build())).isEmpty();
    }

    @Test
    @DisplayName("a server that refuses CONFIG (as managed services do) is logged as not checked, and the store is"
            + " built, REFUSE included")
    void configRefused() {
        policy("allkeys-lru");
        String password = UUID.randomUUID().toString();
        try (RedisAdmin admin = RedisAdmin.connect(PORT)) {
            admin.call("ACL", "SETUSER", user, "on", ">" + password, "~*", "&*", "+@all", "-config");
        }
        RedissonClient restricted = client(new String[] {user, password});
        try {
            String log = logOf(() -> builder(restricted).evictionPolicyCheck(EvictionPolicyCheck.REFUSE).build());
            assertThat(log).contains("WARN").contains("Could not check whether Redis at " + ADDRESS)
                    .contains("NOPERM").contains("make sure its maxmemory-policy is noeviction");
        } finally {
            restricted.shutdown();
        }
    }

    @Test
    @DisplayName("on a cluster, every node is checked, replicas included")
    void everyClusterNode() {
        RedissonClient cluster = TestRedisCluster.newClient();
        String master = TestRedisCluster.masters().iterator().next();
        String replica;
        try (RedisAdmin admin = TestRedisCluster.admin(master)) {
            String line = ((List<?>) admin.call("CLUSTER", "REPLICAS", admin.nodeId())).get(0).toString();
            replica = line.split(" ")[1].substring(0, line.split(" ")[1].indexOf('@'));
        }
        try (RedisAdmin admin = TestRedisCluster.admin("redis://" + replica)) {
            admin.call("CONFIG", "SET", "maxmemory-policy", "volatile-ttl");
            try {
                assertThatThrownBy(() -> RedisIdempotencyStore.builder(cluster).keyPrefix(prefix)
                        .evictionPolicyCheck(EvictionPolicyCheck.REFUSE).build())
                        .isInstanceOf(IdempotencyConfigurationException.class)
                        .hasMessageContaining(replica + " (maxmemory-policy volatile-ttl)");
            } finally {
                admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction");
                cluster.shutdown();
            }
        }
    }
}
