package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.IdempotencyStores;
import org.idempotency.jdbi.internal.MariaDbDialect;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What the MariaDB dialect adds to the contracts: exact keys and hashes, lock bounds, schema, provider, messages. */
class MariaDbStoreTest {

    private static final Duration LONG = Duration.ofHours(1);

    private static TestTable table;
    private JdbiIdempotencyStore store;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "mariadb_store", 4);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    private JdbiIdempotencyStore store() {
        if (store == null) {
            store = table.store();
        }
        return store;
    }

    private static String newKey() {
        return "maria:" + UUID.randomUUID();
    }

    private static long acquired(AcquireResult result) {
        assertThat(result).isInstanceOf(AcquireResult.Acquired.class);
        return ((AcquireResult.Acquired) result).fencingToken();
    }

    @Test
    @DisplayName("keys compare byte by byte: case, trailing spaces and accents make different keys")
    void keysAreExact() {
        String key = newKey();
        long plain = acquired(store().acquire(key, "h", LONG));
        long spaced = acquired(store().acquire(key + " ", "h", LONG));
        long upper = acquired(store().acquire(key.toUpperCase(java.util.Locale.ROOT), "h", LONG));
        long accented = acquired(store().acquire(key + "é", "h", LONG));
        long decomposed = acquired(store().acquire(key + "e\u0301", "h", LONG));

        assertThat(java.util.List.of(plain, spaced, upper, accented, decomposed)).doesNotHaveDuplicates();
        assertThat(store().find(key + " ").orElseThrow().fencingToken()).isEqualTo(spaced);
        assertThat(store().find(key).orElseThrow().fencingToken()).isEqualTo(plain);
    }

    @Test
    @DisplayName("a key of 320 UTF-8 bytes in four-byte characters is kept whole")
    void longestKey() {
        String key = "\uD83D\uDE00".repeat(80); // 80 emoji, 4 bytes each
        String other = "\uD83D\uDE00".repeat(79) + "\uD83D\uDE01";
        long token = acquired(store().acquire(key, "h", LONG));
        long otherToken = acquired(store().acquire(other, "h", LONG));

        assertThat(otherToken).isNotEqualTo(token);
        assertThat(store().find(key).orElseThrow().key()).isEqualTo(key);
        assertThat(store().find(key).orElseThrow().fencingToken()).isEqualTo(token);
    }

    @Test
    @DisplayName("a key over 320 UTF-8 bytes is refused with the rule, even where MariaDB would cut it to fit")
    void tooLongKey() {
        String base = UUID.randomUUID() + "\uD83D\uDE00".repeat(71); // 36 + 284 bytes
        String lenient = table.database.url() + "&sessionVariables=sql_mode=''";
        JdbiIdempotencyStore notStrict = JdbiIdempotencyStore.builder(org.jdbi.v3.core.Jdbi.create(lenient))
                .database(SqlDatabase.MARIADB).table(table.name).build();
        acquired(notStrict.acquire(base, "h", LONG));

        assertThatThrownBy(() -> notStrict.acquire(base + "x", "h", LONG)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("321 UTF-8 bytes").hasMessageContaining("at most 320");
        assertThatThrownBy(() -> notStrict.acquireAll(java.util.List.of(
                new org.idempotency.api.spi.AcquireRequest(base + "é", "h")), LONG))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("322 UTF-8 bytes");
        assertThat(notStrict.find(base).orElseThrow().fencingToken()).isPositive();
    }

    @Test
    @DisplayName("request hashes compare exactly: a trailing space or another case is another request")
    void hashesAreExact() {
        String key = newKey();
        acquired(store().acquire(key, "abc", LONG));

        for (String other : new String[] {"abc ", "ABC", "abç"}) {
            AcquireResult result = store().acquire(key, other, LONG);
            assertThat(result).isInstanceOf(AcquireResult.Existing.class);
            IdempotencyRecord record = ((AcquireResult.Existing) result).record();
            assertThat(record.requestHash()).isEqualTo("abc");
            assertThat(record.matchesRequest(other)).isFalse();
        }
    }

    @Test
    @DisplayName("the takeover of an expired lease is refused to another request and given to the same one, once")
    void takeoverNeedsTheSameHash() throws Exception {
        String key = newKey();
        long first = acquired(store().acquire(key, "h", Duration.ofMillis(200)));
        Observed.eventually("the lease ended", () -> {
            IdempotencyRecord record = store().find(key).orElseThrow();
            return record.leaseExpiresAt().isBefore(databaseNow());
        });

        AcquireResult other = store().acquire(key, "other", LONG);
        AcquireResult same = store().acquire(key, "h", LONG);
        AcquireResult again = store().acquire(key, "h", LONG);

        assertThat(((AcquireResult.Existing) other).record().fencingToken()).isEqualTo(first);
        assertThat(same).isInstanceOfSatisfying(AcquireResult.Acquired.class, acquired -> {
            assertThat(acquired.takeover()).isTrue();
            assertThat(acquired.fencingToken()).isGreaterThan(first);
        });
        assertThat(((AcquireResult.Existing) again).record().fencingToken())
                .isEqualTo(((AcquireResult.Acquired) same).fencingToken());
        IdempotencyRecord record = store().find(key).orElseThrow();
        assertThat(record.expiresAt()).as("visible a lease after the new lease ends")
                .isAfter(record.leaseExpiresAt());
        assertThat(record.requestHash()).isEqualTo("h");
        assertThat(table.database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery("SELECT attempt FROM "
                + table.database.quote(table.name) + " WHERE idempotency_key = :key").bind("key", key)
                .mapTo(Integer.class).one())).isEqualTo(2);
    }

    @Test
    @DisplayName("a released key is acquired again with a larger token, as a new record with the new request")
    void releaseThenAcquire() {
        String key = newKey();
        long first = acquired(store().acquire(key, "h", LONG));
        assertThat(store().release(key, first)).isTrue();
        assertThat(store().find(key)).isEmpty();
        assertThat(store().extend(key, first, LONG)).as("a released record is not renewed").isFalse();

        AcquireResult again = store().acquire(key, "new", LONG);

        assertThat(again).isInstanceOfSatisfying(AcquireResult.Acquired.class, acquired -> {
            assertThat(acquired.takeover()).isFalse();
            assertThat(acquired.fencingToken()).isGreaterThan(first);
        });
        assertThat(store().find(key).orElseThrow().requestHash()).isEqualTo("new");
    }

    @Test
    @DisplayName("a row locked by a stalled transaction: acquire answers in progress, complete fails having changed"
            + " nothing, both within the lock timeout rounded up to a second")
    void lockedRow() {
        JdbiIdempotencyStore bounded = table.builder().lockTimeout(Duration.ofMillis(300)).build();
        String key = newKey();
        long token = acquired(bounded.acquire(key, "h", LONG));
        try (Handle stalled = table.database.admin().open()) {
            stalled.begin();
            stalled.createUpdate("UPDATE " + table.database.quote(table.name)
                    + " SET attempt = attempt WHERE idempotency_key = :key").bind("key", key).execute();

            long started = System.nanoTime();
            AcquireResult replay = bounded.acquire(key, "h", LONG);
            assertThatThrownBy(() -> bounded.complete(key, token, StoredResult.of(new byte[] {1}), LONG))
                    .isInstanceOf(IdempotencyStoreException.class)
                    .hasMessageContaining("lock timeout");
            long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

            assertThat(replay).isInstanceOfSatisfying(AcquireResult.Existing.class, existing ->
                    assertThat(existing.record().status()).isEqualTo(RecordStatus.IN_PROGRESS));
            assertThat(elapsedMillis).as("two waits of one second each, not innodb's default of 50").isLessThan(10_000);
            stalled.rollback();
        }
        assertThat(bounded.complete(key, token, StoredResult.of(new byte[] {1}), LONG)).isTrue();
        assertThat(bounded.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
    }

    @Test
    @DisplayName("the completion inside a caller's transaction: committed with it, or not at all")
    void completeOnConnection() throws Exception {
        String key = newKey();
        long token = acquired(store().acquire(key, "h", LONG));
        try (Handle caller = table.jdbi.open()) {
            caller.begin();
            assertThat(store().completeOn(caller.getConnection(), key, token, StoredResult.of(new byte[] {7}), LONG))
                    .isTrue();
            caller.rollback();
        }
        assertThat(store().find(key).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
        try (Handle caller = table.jdbi.open()) {
            caller.begin();
            assertThat(store().completeOn(caller.getConnection(), key, token, StoredResult.of(new byte[] {7}), LONG))
                    .isTrue();
            caller.commit();
        }
        assertThat(store().find(key).orElseThrow().result().payload()).containsExactly(7);
    }

    @Test
    @DisplayName("times are UTC whatever the session time zone, and follow the database clock")
    void utcTimes() {
        JdbiIdempotencyStore shifted = JdbiIdempotencyStore.builder(org.jdbi.v3.core.Jdbi.create(
                table.database.url() + "&sessionVariables=time_zone='-09:00'")).database(SqlDatabase.MARIADB)
                .table(table.name).build();
        assertThat(shifted.jdbi().<String, RuntimeException>withHandle(h -> h.createQuery("SELECT @@session.time_zone").mapTo(String.class)
                .one())).isEqualTo("-09:00");
        String key = newKey();
        java.time.Instant before = databaseNow();

        acquired(shifted.acquire(key, "h", Duration.ofMinutes(10)));
        IdempotencyRecord record = shifted.find(key).orElseThrow();

        assertThat(record.leaseExpiresAt()).isBetween(before.plus(Duration.ofMinutes(10)),
                databaseNow().plus(Duration.ofMinutes(10)));
        assertThat(store().find(key).orElseThrow().leaseExpiresAt()).isEqualTo(record.leaseExpiresAt());
    }

    @Test
    @DisplayName("with innodb_snapshot_isolation (the default from MariaDB 11.6), a renewal during REPEATABLE READ"
            + " work fails the completion: store exception, nothing committed, key released; READ COMMITTED commits")
    void snapshotIsolation() {
        String url = table.database.url() + "&sessionVariables=innodb_snapshot_isolation=ON";
        BusinessTable orders = new BusinessTable(table.database, "snapshot_orders");
        com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(4);
        try (com.zaxxer.hikari.HikariDataSource pool = new com.zaxxer.hikari.HikariDataSource(config);
                org.idempotency.core.Idempotency engine = org.idempotency.core.Idempotency.builder(
                        JdbiIdempotencyStore.builder(org.jdbi.v3.core.Jdbi.create(pool)).database(SqlDatabase.MARIADB)
                                .table(table.name).build())
                        .lease(Duration.ofSeconds(5)).renewInterval(Duration.ofMillis(100))
                        .purgeInterval(Duration.ZERO).build()) {
            JdbiIdempotencyStore snapshots = (JdbiIdempotencyStore) engine.store();
            assertThat(snapshots.jdbi().<Integer, RuntimeException>withHandle(h -> h.createQuery(
                    "SELECT @@session.innodb_snapshot_isolation")
                    .mapTo(Integer.class).one())).isEqualTo(1);
            TransactionalOperation<Long> charge = snapshots.transactional(engine.operation("snapshot", Long.class));
            String key = UUID.randomUUID().toString();
            org.jdbi.v3.core.HandleCallback<Long, RuntimeException> work = h -> {
                h.createQuery("SELECT count(*) FROM " + orders.quoted()).mapTo(Integer.class).one(); // the read view
                long id = orders.insert(h, key, "a");
                java.time.Instant leaseEnd = snapshots.find("snapshot:" + key).orElseThrow().leaseExpiresAt();
                Observed.eventually("the lease was renewed", () -> snapshots.find("snapshot:" + key).orElseThrow()
                        .leaseExpiresAt().isAfter(leaseEnd));
                return id;
            };

            assertThatThrownBy(() -> charge.withIsolation(
                    org.jdbi.v3.core.transaction.TransactionIsolationLevel.REPEATABLE_READ).execute(key, "h", work))
                    .isInstanceOf(IdempotencyStoreException.class)
                    .satisfies(e -> assertThat(errorCode(e)).isEqualTo(1020));
            assertThat(orders.rows(key)).isZero();
            assertThat(snapshots.find("snapshot:" + key)).isEmpty();

            assertThat(charge.withIsolation(org.jdbi.v3.core.transaction.TransactionIsolationLevel.READ_COMMITTED)
                    .execute(key, "h", work)).isPositive();
            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(snapshots.find("snapshot:" + key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        } finally {
            orders.close();
        }
    }

    private static int errorCode(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql) {
                return sql.getErrorCode();
            }
        }
        return -1;
    }

    @Test
    @DisplayName("the schema script is idempotent and renders for database.table, and createSchema builds it there")
    void schemaInAnotherDatabase() {
        String database = TestDatabase.uniqueTableName("db");
        table.database.admin().useHandle(h -> h.execute("CREATE DATABASE " + table.database.quote(database)));
        try {
            JdbiIdempotencyStore elsewhere = table.builder().table(database + ".records").build();
            assertThat(elsewhere.schemaScript()).contains("CREATE TABLE IF NOT EXISTS `" + database + "`.`records`")
                    .contains("CREATE SEQUENCE IF NOT EXISTS `" + database + "`.`records_fencing_seq`")
                    .contains("KEY `records_expires_at_idx`");
            elsewhere.createSchema();
            elsewhere.createSchema();
            table.database.admin().useHandle(h -> h.createScript(elsewhere.schemaScript()).execute());

            String key = newKey();
            long token = acquired(elsewhere.acquire(key, "h", LONG));
            assertThat(elsewhere.complete(key, token, StoredResult.of(new byte[] {1}), LONG)).isTrue();
            assertThat(store().find(key)).as("another table").isEmpty();
        } finally {
            table.database.admin().useHandle(h -> h.execute("DROP DATABASE " + table.database.quote(database)));
        }
    }

    @Test
    @DisplayName("the shipped script creates the default table, which the default store uses")
    void shippedScript() throws Exception {
        String database = TestDatabase.uniqueTableName("shipped");
        table.database.admin().useHandle(h -> h.execute("CREATE DATABASE " + table.database.quote(database)));
        try (java.io.InputStream in = getClass().getClassLoader().getResourceAsStream(
                SqlDatabase.MARIADB.schemaResource())) {
            String script = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(SqlDatabase.MARIADB.schemaResource()).isEqualTo(JdbiIdempotencyStore.MARIADB_SCHEMA_RESOURCE);
            table.database.admin().useHandle(h -> {
                h.execute("USE " + table.database.quote(database));
                h.createScript(script).execute();
                h.createScript(script).execute();
            });
            JdbiIdempotencyStore shipped = table.builder()
                    .table(database + "." + JdbiIdempotencyStore.DEFAULT_TABLE).build();
            acquired(shipped.acquire(newKey(), "h", LONG));
        } finally {
            table.database.admin().useHandle(h -> h.execute("DROP DATABASE " + table.database.quote(database)));
        }
    }

    @Test
    @DisplayName("with server-side prepared statements and affected-row counts, every operation answers the same")
    void driverModes() {
        String url = table.database.url() + "&useServerPrepStmts=true&useAffectedRows=true";
        JdbiIdempotencyStore modes = JdbiIdempotencyStore.builder(org.jdbi.v3.core.Jdbi.create(url))
                .database(SqlDatabase.MARIADB).table(table.name).build();
        String key = newKey();

        long first = acquired(modes.acquire(key, "h", Duration.ofMillis(200)));
        assertThat(((AcquireResult.Existing) modes.acquire(key, "h", LONG)).record().fencingToken()).isEqualTo(first);
        Observed.eventually("the lease ended", () -> modes.find(key).orElseThrow().leaseExpiresAt()
                .isBefore(databaseNow()));
        long second = acquired(modes.acquire(key, "h", LONG));
        assertThat(modes.extend(key, first, LONG)).isFalse();
        assertThat(modes.extend(key, second, LONG)).isTrue();
        assertThat(modes.release(key, second)).isTrue();
        long third = acquired(modes.acquire(key, "h", LONG));
        assertThat(modes.fail(key, third, new org.idempotency.api.StoredFailure("E", "m"), Duration.ofMillis(1)))
                .isTrue();
        Observed.eventually("the failure expired", () -> modes.find(key).isEmpty());
        assertThat(modes.purgeExpired()).isGreaterThanOrEqualTo(1);
        long fourth = acquired(modes.acquire(key, "h", LONG));
        assertThat(modes.complete(key, fourth, StoredResult.of(new byte[] {9}), LONG)).isTrue();
        assertThat(java.util.List.of(first, second, third, fourth)).isSorted().doesNotHaveDuplicates();
        assertThat(modes.find(key).orElseThrow().result().payload()).containsExactly(9);
    }

    @Test
    @DisplayName("the MariaDB snippet of docs/sql.md runs as written, on the default table")
    void docsSnippet() {
        String database = TestDatabase.uniqueTableName("docs");
        table.database.admin().useHandle(h -> h.execute("CREATE DATABASE " + table.database.quote(database)));
        com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
        config.setJdbcUrl(table.database.url().replace("/test?", "/" + database + "?"));
        config.setMaximumPoolSize(2);
        try (com.zaxxer.hikari.HikariDataSource mariaDbDataSource = new com.zaxxer.hikari.HikariDataSource(config)) {
            // the snippet
            org.jdbi.v3.core.Jdbi jdbi = org.jdbi.v3.core.Jdbi.create(mariaDbDataSource);
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi)
                    .database(SqlDatabase.MARIADB) // or SqlDatabase.fromJdbcUrl(url)
                    .build();
            store.createSchema();
            // end of the snippet

            String key = newKey();
            long token = acquired(store.acquire(key, "h", LONG));
            assertThat(store.complete(key, token, StoredResult.of(new byte[] {5}), LONG)).isTrue();
            assertThat(store.table()).isEqualTo(JdbiIdempotencyStore.DEFAULT_TABLE);
        } finally {
            table.database.admin().useHandle(h -> h.execute("DROP DATABASE " + table.database.quote(database)));
        }
    }

    @Test
    @DisplayName("fault messages keep the error and leave quoted values out")
    void faultMessagesLeaveValuesOut() {
        MariaDbDialect dialect = new MariaDbDialect();
        SQLException duplicate = new SQLException("(conn=42) Duplicate entry 'secret-key' for key 'PRIMARY'", "23000",
                1062);
        SQLException string = new SQLException("Incorrect string value: '\\xF0\\x9F\\x98' for column"
                + " `test`.`t`.`request_hash` at row 1\nQuery is: INSERT ... 'secret'", "22007", 1366);

        assertThat(dialect.describe(duplicate)).isEqualTo("Duplicate entry '…' for key '…' [error 1062]");
        assertThat(dialect.describe(string)).doesNotContain("xF0").doesNotContain("secret")
                .startsWith("Incorrect string value");
    }

    @Test
    @DisplayName("the provider picks MariaDB from jdbc:mariadb: and jdbc:mysql: URLs, and refuses other prefixes")
    void provider() throws Exception {
        String name = TestDatabase.uniqueTableName("provider");
        MariaDbDatabase database = MariaDbDatabase.get();
        String mysqlUrl = database.url().replaceFirst("^jdbc:mariadb:", "jdbc:mysql:") + "&permitMysqlScheme";
        try {
            for (String url : new String[] {database.url(), mysqlUrl}) {
                IdempotencyStore built = IdempotencyStores.fromSettings(ProviderSettings.of(settings(
                        "idempotency.jdbi.url", url,
                        "idempotency.jdbi.table", name,
                        "idempotency.jdbi.pool-size", "2",
                        "idempotency.jdbi.create-schema", "true")));
                try {
                    assertThat(built).isInstanceOfSatisfying(JdbiIdempotencyStore.class,
                            jdbi -> assertThat(jdbi.database()).isEqualTo(SqlDatabase.MARIADB));
                    String key = newKey();
                    long token = acquired(built.acquire(key, "h", LONG));
                    assertThat(built.complete(key, token, StoredResult.of(new byte[] {3}), LONG)).isTrue();
                } finally {
                    ((AutoCloseable) built).close();
                }
            }
        } finally {
            database.dropTable(name);
        }
        assertThatThrownBy(() -> IdempotencyStores.fromSettings(ProviderSettings.of(settings(
                "idempotency.jdbi.url", "jdbc:sqlserver://localhost:1433")))).isInstanceOf(
                        IdempotencyConfigurationException.class)
                .hasMessageContaining("jdbc:sqlserver:")
                .hasMessageContaining("jdbc:mariadb:");
    }

    @Test
    @DisplayName("SqlDatabase.fromJdbcUrl reads the prefix, whatever its case")
    void fromJdbcUrl() {
        assertThat(SqlDatabase.fromJdbcUrl("jdbc:postgresql://h/db")).isEqualTo(SqlDatabase.POSTGRESQL);
        assertThat(SqlDatabase.fromJdbcUrl("jdbc:mariadb://h/db")).isEqualTo(SqlDatabase.MARIADB);
        assertThat(SqlDatabase.fromJdbcUrl("JDBC:MySQL://h/db")).isEqualTo(SqlDatabase.MARIADB);
        assertThatThrownBy(() -> SqlDatabase.fromJdbcUrl("jdbc:h2:mem:x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("jdbc:h2:").hasMessageContaining("jdbc:postgresql:");
    }

    private static Map<String, String> settings(String... pairs) {
        Map<String, String> values = new HashMap<>();
        values.put("idempotency.store", "jdbi");
        for (int i = 0; i < pairs.length; i += 2) {
            values.put(pairs[i], pairs[i + 1]);
        }
        return values;
    }

    private static java.time.Instant databaseNow() {
        return table.database.admin().withHandle(h -> h.createQuery("SELECT UTC_TIMESTAMP(6)")
                .mapTo(java.time.LocalDateTime.class).one()).toInstant(java.time.ZoneOffset.UTC);
    }
}
