package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.UUID;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Completing a record on a connection held by the caller's own transaction manager. */
class CompleteOnConnectionTest {

    private static final PostgresDatabase DATABASE = PostgresDatabase.get();
    private static final String TABLE = PostgresDatabase.uniqueTableName("on_connection");
    private static HikariDataSource pool;
    private static JdbiIdempotencyStore store;

    @BeforeAll
    static void createStore() {
        pool = DATABASE.pool(PostgresDatabase.uniqueApplicationName("on-connection"), 4);
        store = JdbiIdempotencyStore.builder(Jdbi.create(pool)).table(TABLE).build();
        store.createSchema();
    }

    @AfterAll
    static void dropStore() {
        pool.close();
        DATABASE.dropTable(TABLE);
    }

    private static long acquire(String key) {
        return ((AcquireResult.Acquired) store.acquire(key, "h", Duration.ofSeconds(30))).fencingToken();
    }

    private static StoredResult result() {
        return new StoredResult("\"done\"".getBytes(StandardCharsets.UTF_8), 201);
    }

    @Test
    @DisplayName("the completion commits with the caller's transaction, and the connection stays open")
    void commitsWithTheTransaction() throws Exception {
        String key = "op:" + UUID.randomUUID();
        long token = acquire(key);
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false);

            assertThat(store.completeOn(connection, key, token, result(), Duration.ofMinutes(5))).isTrue();
            assertThat(store.find(key).orElseThrow().status()).as("not visible before the commit")
                    .isEqualTo(RecordStatus.IN_PROGRESS);
            connection.commit();
            assertThat(connection.isClosed()).isFalse();
        }
        assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(store.find(key).orElseThrow().result().statusCode()).isEqualTo(201);
    }

    @Test
    @DisplayName("a rollback leaves the record in progress, still owned by its token")
    void rollsBackWithTheTransaction() throws Exception {
        String key = "op:" + UUID.randomUUID();
        long token = acquire(key);
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false);
            assertThat(store.completeOn(connection, key, token, result(), Duration.ofMinutes(5))).isTrue();
            connection.rollback();
            connection.setAutoCommit(true);
        }
        assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
        assertThat(store.release(key, token)).isTrue();
    }

    @Test
    @DisplayName("a stale token completes nothing")
    void staleTokenRefused() throws Exception {
        String key = "op:" + UUID.randomUUID();
        long token = acquire(key);
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false);
            assertThat(store.completeOn(connection, key, token + 1, result(), Duration.ofMinutes(5))).isFalse();
            connection.rollback();
            connection.setAutoCommit(true);
        }
        assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
    }
}
