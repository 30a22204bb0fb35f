package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.IdempotencyStores;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Building the store from settings through discovery (provider {@code jdbi}). */
class JdbiStoreProviderTest {

    private static Map<String, String> settings(String... pairs) {
        Map<String, String> values = new HashMap<>();
        values.put("idempotency.store", "jdbi");
        for (int i = 0; i < pairs.length; i += 2) {
            values.put(pairs[i], pairs[i + 1]);
        }
        return values;
    }

    private static IdempotencyStore fromSettings(Map<String, String> values) {
        return IdempotencyStores.fromSettings(ProviderSettings.of(values));
    }

    @Test
    @DisplayName("is discovered by name next to the in-memory store")
    void discovered() {
        assertThat(IdempotencyStores.availableProviders(getClass().getClassLoader())).contains("jdbi", "memory");
    }

    @Test
    @DisplayName("builds a working store on a pool of its own, creates the schema when asked, and closes the pool")
    void buildsAndCloses() throws Exception {
        PostgresDatabase database = PostgresDatabase.get();
        String table = PostgresDatabase.uniqueTableName("provider");
        try {
            IdempotencyStore store = fromSettings(settings(
                    "idempotency.jdbi.url", database.url(),
                    "idempotency.jdbi.table", table,
                    "idempotency.jdbi.pool-size", "2",
                    "idempotency.jdbi.purge-batch-size", "250",
                    "idempotency.jdbi.create-schema", "true"));
            assertThat(store).isInstanceOfSatisfying(JdbiIdempotencyStore.class, jdbi -> {
                assertThat(jdbi.table()).isEqualTo(table);
                assertThat(jdbi.purgeBatchSize()).isEqualTo(250);
            });
            String key = "provider:" + UUID.randomUUID();

            long token = ((AcquireResult.Acquired) store.acquire(key, "h", Duration.ofMinutes(1))).fencingToken();
            assertThat(store.complete(key, token, StoredResult.of(new byte[] {4}), Duration.ofHours(1))).isTrue();
            assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);

            ((AutoCloseable) store).close();
            assertThatThrownBy(() -> store.find(key)).isInstanceOf(IdempotencyStoreException.class);
        } finally {
            database.dropTable(table);
        }
    }

    @Test
    @DisplayName("renews leases on a second pool of its own, while the main pool is taken, and closes both pools")
    void renewalPool() throws Exception {
        PostgresDatabase database = PostgresDatabase.get();
        String table = PostgresDatabase.uniqueTableName("provider_renewal");
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            JdbiIdempotencyStore store = (JdbiIdempotencyStore) fromSettings(settings(
                    "idempotency.jdbi.url", database.url(),
                    "idempotency.jdbi.table", table,
                    "idempotency.jdbi.pool-size", "1",
                    "idempotency.jdbi.renewal-pool-size", "1",
                    "idempotency.jdbi.lock-timeout", "300ms",
                    "idempotency.jdbi.create-schema", "true"));
            assertThat(store.lockTimeout()).isEqualTo(Duration.ofMillis(300));
            assertThat(store.renewalJdbi()).isNotSameAs(store.jdbi());
            String key = "provider:" + UUID.randomUUID();
            long token = ((AcquireResult.Acquired) store.acquire(key, "h", Duration.ofMinutes(1))).fencingToken();

            try (Handle taken = store.jdbi().open()) {
                assertThat(taken.createQuery("SELECT 1").mapTo(Integer.class).one()).isEqualTo(1);
                assertThat(thread.submit(() -> store.extendAll(List.of(new OwnedKey(key, token)),
                        Duration.ofMinutes(1))).get(10, TimeUnit.SECONDS)).containsExactly(true);
            }

            store.close();
            assertThatThrownBy(() -> store.find(key)).isInstanceOf(IdempotencyStoreException.class);
            assertThatThrownBy(() -> store.extend(key, token, Duration.ofMinutes(1)))
                    .isInstanceOf(IdempotencyStoreException.class);
        } finally {
            thread.shutdownNow();
            database.dropTable(table);
        }
    }

    @Test
    @DisplayName("refuses missing, malformed and unknown settings, naming the setting")
    void badSettings() {
        String url = "jdbc:postgresql://127.0.0.1:5432/test";
        Map<Map<String, String>, String> cases = Map.of(
                settings(), "Missing setting 'idempotency.jdbi.url'",
                settings("idempotency.jdbi.url", "postgres://localhost/app"), "'idempotency.jdbi.url'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.table", "records; DROP TABLE users"),
                "'idempotency.jdbi.table'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.pool-size", "0"), "'idempotency.jdbi.pool-size'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.purge-batch-size", "lots"),
                "'idempotency.jdbi.purge-batch-size'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.create-schema", "yes"),
                "'idempotency.jdbi.create-schema'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.renewal-pool-size", "0"),
                "'idempotency.jdbi.renewal-pool-size'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.lock-timeout", "soon"),
                "'idempotency.jdbi.lock-timeout'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.lock-timeout", "2h"),
                "'idempotency.jdbi.lock-timeout'",
                settings("idempotency.jdbi.url", url, "idempotency.jdbi.tabel", "x"), "idempotency.jdbi.tabel");
        cases.forEach((values, named) -> assertThatThrownBy(() -> fromSettings(values))
                .as(values.toString())
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining(named));
    }

    @Test
    @DisplayName("a database that cannot be reached is a store exception that does not repeat the password")
    void unreachable() {
        assertThatThrownBy(() -> fromSettings(settings(
                "idempotency.jdbi.url", "jdbc:postgresql://127.0.0.1:1/test?connectTimeout=2",
                "idempotency.jdbi.user", "app",
                "idempotency.jdbi.password", "s3cret-pa55")))
                .isInstanceOf(IdempotencyStoreException.class)
                .hasMessageContaining("idempotency.jdbi.url")
                .hasMessageNotContaining("s3cret-pa55");
    }
}
