package org.idempotency.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.IdempotencyStores;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;

/** The {@code redis} provider: building a store from settings, and clear errors for bad settings. */
class RedisStoreProviderTest {

    private static IdempotencyStore fromSettings(Map<String, String> values) {
        Map<String, String> all = new HashMap<>(values);
        all.put("idempotency.store", "redis");
        return IdempotencyStores.fromSettings(ProviderSettings.of(all));
    }

    @Test
    @DisplayName("is discovered by name and builds a working store that owns its client")
    void discoveredAndWorking() throws Exception {
        String prefix = TestRedis.uniquePrefix("provider");
        IdempotencyStore store = fromSettings(Map.of(
                "idempotency.redis.address", TestRedis.address(),
                "idempotency.redis.key-prefix", prefix,
                "idempotency.redis.timeout", "2s",
                "idempotency.redis.connect-timeout", "PT2S",
                "idempotency.redis.database", "0"));
        try {
            assertThat(store).isInstanceOf(RedisIdempotencyStore.class);
            assertThat(((RedisIdempotencyStore) store).keyPrefix()).isEqualTo(prefix);
            AcquireResult acquired = store.acquire("op:k", "h", Duration.ofSeconds(10));
            long token = ((AcquireResult.Acquired) acquired).fencingToken();
            assertThat(store.complete("op:k", token, StoredResult.of(new byte[] {1}), Duration.ofMinutes(1))).isTrue();
            assertThat(IdempotencyStores.availableProviders(getClass().getClassLoader())).contains("redis", "memory");
        } finally {
            RedissonClient cleaner = TestRedis.newClient();
            TestRedis.deleteKeys(cleaner, prefix);
            cleaner.shutdown();
            ((AutoCloseable) store).close();
        }
        assertThatThrownBy(() -> store.find("op:k")).as("the store shut its own client down")
                .isInstanceOf(IdempotencyStoreException.class);
    }

    @Test
    @DisplayName("builds a store on a Redis Cluster from its nodes, waiting for replicas when told to")
    void clusterWithReplicaAcknowledgement() throws Exception {
        TestRedisCluster.awaitHealthy();
        String prefix = TestRedis.uniquePrefix("provider-cluster");
        IdempotencyStore store = fromSettings(Map.of(
                "idempotency.redis.nodes", String.join(",", TestRedisCluster.nodes()),
                "idempotency.redis.key-prefix", prefix,
                "idempotency.redis.wait-replicas", "1",
                "idempotency.redis.wait-timeout", "2s",
                "idempotency.redis.eviction-policy-check", "refuse"));
        try {
            assertThat(store.toString()).contains("replicaAcknowledgement=1 within PT2S");
            long token = ((AcquireResult.Acquired) store.acquire("op:k", "h", Duration.ofSeconds(10))).fencingToken();
            assertThat(store.complete("op:k", token, StoredResult.of(new byte[] {1}), Duration.ofMinutes(1))).isTrue();
        } finally {
            RedissonClient cleaner = TestRedisCluster.newClient();
            TestRedis.deleteKeys(cleaner, prefix);
            cleaner.shutdown();
            ((AutoCloseable) store).close();
        }
        IdempotencyStore two = fromSettings(Map.of(
                "idempotency.redis.nodes", String.join(",", TestRedisCluster.nodes()),
                "idempotency.redis.key-prefix", prefix,
                "idempotency.redis.wait-replicas", "2",
                "idempotency.redis.wait-timeout", "50ms"));
        try {
            assertThatThrownBy(() -> two.acquire("op:k2", "h", Duration.ofSeconds(10)))
                    .isInstanceOf(IdempotencyStoreException.class).hasMessageContaining("1 of the 2 replicas");
        } finally {
            ((AutoCloseable) two).close();
        }
    }

    @Test
    @DisplayName("refuses a server that can evict records when eviction-policy-check is refuse")
    void evictionPolicyRefused() {
        try (RedisAdmin admin = RedisAdmin.connect(6392)) {
            admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
            try {
                assertThatThrownBy(() -> fromSettings(Map.of(
                        "idempotency.redis.address", "redis://127.0.0.1:6392",
                        "idempotency.redis.eviction-policy-check", "REFUSE")))
                        .isInstanceOf(IdempotencyConfigurationException.class)
                        .hasMessageContaining("127.0.0.1:6392 (maxmemory-policy allkeys-lru)");
                IdempotencyStore off = fromSettings(Map.of(
                        "idempotency.redis.address", "redis://127.0.0.1:6392",
                        "idempotency.redis.eviction-policy-check", "off"));
                ((RedisIdempotencyStore) off).close();
            } finally {
                admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction");
            }
        }
    }

    @Test
    @DisplayName("refuses an address with an unknown scheme, naming the setting and the accepted forms")
    void unknownScheme() {
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "http://127.0.0.1:6379")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.address' = 'http://127.0.0.1:6379'")
                .hasMessageContaining("redis://host:port")
                .hasMessageContaining("unknown scheme 'http'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "127.0.0.1:6379")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("idempotency.redis.address");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.nodes", "redis://a:1, tcp://b:2")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.nodes' = 'tcp://b:2'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://127.0.0.1")))
                .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("with a host and a port");
    }

    @Test
    @DisplayName("refuses missing, conflicting, unknown and malformed settings, naming each")
    void badSettings() {
        assertThatThrownBy(() -> fromSettings(Map.of()))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("Missing setting 'idempotency.redis.address'")
                .hasMessageContaining("idempotency.redis.nodes");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.nodes", "redis://b:2")))
                .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("exclude each other");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.adress", "redis://a:1")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("[idempotency.redis.adress]")
                .hasMessageContaining("idempotency.redis.key-prefix");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.database", "-1")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.database' = '-1'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.timeout", "soon")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.timeout' = 'soon'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.connect-timeout", "30d")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.connect-timeout' = '30d'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.retry-attempts", "many")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.retry-attempts' = 'many'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.key-prefix", "my app")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.key-prefix' = 'my app'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.key-prefix", "payments:idempotency:")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.key-prefix' = 'payments:idempotency:'")
                .hasMessageContaining("ending with ':' and containing no other ':'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.wait-replicas", "-1")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.wait-replicas' = '-1'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.wait-replicas", "1", "idempotency.redis.wait-timeout", "0s")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.wait-timeout' = '0s'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.wait-timeout", "1s")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.wait-timeout' needs 'idempotency.redis.wait-replicas'");
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "redis://a:1",
                "idempotency.redis.eviction-policy-check", "maybe")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining("'idempotency.redis.eviction-policy-check' = 'maybe'")
                .hasMessageContaining("warn, refuse or off");
    }

    @Test
    @DisplayName("never repeat a password, given as a setting or inside the address")
    void secretsHidden() {
        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", "http://user:s3cret@host:1",
                "idempotency.redis.password", "other-s3cret")))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageNotContaining("s3cret")
                .hasMessageContaining("http://<hidden>@host:1");
    }

    @Test
    @DisplayName("fail fast with a clear message when nothing listens at the address")
    void refusedConnection() throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        String address = "redis://127.0.0.1:" + port;
        long start = System.nanoTime();

        assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", address,
                "idempotency.redis.connect-timeout", "500ms", "idempotency.redis.retry-attempts", "0")))
                .isInstanceOf(IdempotencyStoreException.class)
                .hasMessageContaining("Cannot connect to Redis at " + address)
                .hasMessageContaining("idempotency.redis.address")
                .hasMessageContaining("connect timeout 500 ms, 0 retries")
                .hasCauseInstanceOf(RuntimeException.class);
        // with the defaults (4 retries of a 10 s connect timeout) it would take close to a minute; the bound is
        // loose because starting a Redisson client alone takes seconds on a loaded machine
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    @DisplayName("fail fast with a clear message when the host accepts but never answers")
    void silentHost() throws IOException {
        List<Socket> accepted = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (!silent.isClosed()) {
                        accepted.add(silent.accept());
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            }, "silent-redis");
            acceptor.setDaemon(true);
            acceptor.start();
            String address = "redis://127.0.0.1:" + silent.getLocalPort();
            long start = System.nanoTime();

            assertThatThrownBy(() -> fromSettings(Map.of("idempotency.redis.address", address,
                    "idempotency.redis.connect-timeout", "500ms", "idempotency.redis.timeout", "500ms",
                    "idempotency.redis.retry-attempts", "0")))
                    .isInstanceOf(IdempotencyStoreException.class)
                    .hasMessageContaining("Cannot connect to Redis at " + address);
            // as above: far less than the defaults would take, with room for a loaded machine
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
        } finally {
            for (Socket socket : accepted) {
                socket.close();
            }
        }
    }
}
