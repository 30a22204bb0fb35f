package org.idempotency.jdbi.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.IdempotencyStoreProvider;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.SqlDatabase;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;

/**
 * Discovers the Jdbi store as provider {@code jdbi} and builds it from settings, on a HikariCP pool of its own
 * that the store closes on {@code close()}:
 *
 * <ul>
 *   <li>{@code idempotency.jdbi.url}: the JDBC URL; required. Its prefix chooses the database
 *       ({@link SqlDatabase#fromJdbcUrl}): {@code jdbc:postgresql://host:5432/db} for PostgreSQL,
 *       {@code jdbc:mariadb://host:3306/db} (or {@code jdbc:mysql:} on a MariaDB server) for MariaDB, whose
 *       driver ({@code org.mariadb.jdbc:mariadb-java-client}) the application adds</li>
 *   <li>{@code idempotency.jdbi.user}, {@code idempotency.jdbi.password}: the credentials, unless in the URL</li>
 *   <li>{@code idempotency.jdbi.table}: the table, {@code table} or {@code schema.table} (default
 *       {@code idempotency_records})</li>
 *   <li>{@code idempotency.jdbi.pool-size}: the most connections the pool opens (default 10)</li>
 *   <li>{@code idempotency.jdbi.renewal-pool-size}: the connections of a second, small pool that only lease
 *       renewals use, so that a taken main pool cannot starve them (default 2)</li>
 *   <li>{@code idempotency.jdbi.lock-timeout}: the longest a statement waits for a row lock (default 200 ms; see
 *       {@link JdbiIdempotencyStore.Builder#lockTimeout})</li>
 *   <li>{@code idempotency.jdbi.purge-batch-size}: rows per purge statement (default 1000)</li>
 *   <li>{@code idempotency.jdbi.create-schema}: {@code true} to create the table if missing (default
 *       {@code false}: apply the schema script with your migrations)</li>
 * </ul>
 *
 * <p>On PostgreSQL the Jdbi has the {@link PostgresPlugin} installed; {@code store.jdbi()} hands it to
 * transactional work. On MariaDB the provider checks that the server is MariaDB (a MySQL server behind a
 * {@code jdbc:mysql:} URL is refused, naming the server). The store closes both pools in {@code close()}.
 * Stateless and thread-safe.
 */
public final class JdbiStoreProvider implements IdempotencyStoreProvider {

    static final String PREFIX = "idempotency.jdbi.";
    static final String URL = PREFIX + "url";
    static final String USER = PREFIX + "user";
    static final String PASSWORD = PREFIX + "password";
    static final String TABLE = PREFIX + "table";
    static final String POOL_SIZE = PREFIX + "pool-size";
    static final String PURGE_BATCH_SIZE = PREFIX + "purge-batch-size";
    static final String CREATE_SCHEMA = PREFIX + "create-schema";
    static final String RENEWAL_POOL_SIZE = PREFIX + "renewal-pool-size";
    static final String LOCK_TIMEOUT = PREFIX + "lock-timeout";

    public JdbiStoreProvider() {
    }

    @Override
    public String name() {
        return "jdbi";
    }

    @Override
    public IdempotencyStore create(ProviderSettings settings) {
        settings.rejectUnknown(PREFIX, Set.of(URL, USER, PASSWORD, TABLE, POOL_SIZE, PURGE_BATCH_SIZE, CREATE_SCHEMA,
                RENEWAL_POOL_SIZE, LOCK_TIMEOUT));
        String url = settings.require(URL);
        if (!url.startsWith("jdbc:")) {
            throw settings.malformed(URL, url, "a JDBC URL such as jdbc:postgresql://localhost:5432/app or"
                    + " jdbc:mariadb://localhost:3306/app");
        }
        SqlDatabase database;
        try {
            database = SqlDatabase.fromJdbcUrl(url);
        } catch (IllegalArgumentException e) {
            throw settings.malformed(URL, url, "a JDBC URL of a supported database: " + e.getMessage());
        }
        String table = settings.get(TABLE).orElse(JdbiIdempotencyStore.DEFAULT_TABLE);
        try {
            TableName.parse(table);
        } catch (IllegalArgumentException e) {
            throw settings.malformed(TABLE, table, "a table name: " + e.getMessage());
        }
        int poolSize = settings.integer(POOL_SIZE, 10, 1, 1_000);
        int purgeBatchSize = settings.integer(PURGE_BATCH_SIZE, JdbiIdempotencyStore.DEFAULT_PURGE_BATCH_SIZE, 1,
                1_000_000);
        boolean createSchema = bool(settings, CREATE_SCHEMA);
        int renewalPoolSize = settings.integer(RENEWAL_POOL_SIZE, 2, 1, 100);
        Duration lockTimeout = settings.duration(LOCK_TIMEOUT, JdbiIdempotencyStore.DEFAULT_LOCK_TIMEOUT);
        if (lockTimeout.toMillis() < 1 || lockTimeout.compareTo(Duration.ofHours(1)) > 0) {
            throw settings.malformed(LOCK_TIMEOUT, settings.get(LOCK_TIMEOUT).orElse(""),
                    "a duration from 1 ms to 1 hour");
        }

        HikariDataSource dataSource = pool(settings, url, "idempotency-jdbi", poolSize, database);
        HikariDataSource renewalSource;
        try {
            renewalSource = pool(settings, url, "idempotency-jdbi-renewal", renewalPoolSize, database);
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        try {
            Jdbi jdbi = Jdbi.create(dataSource);
            if (database == SqlDatabase.POSTGRESQL) {
                jdbi.installPlugin(new PostgresPlugin());
            } else {
                requireMariaDb(jdbi, database);
            }
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi)
                    .database(database)
                    .renewalJdbi(Jdbi.create(renewalSource))
                    .table(table)
                    .purgeBatchSize(purgeBatchSize)
                    .lockTimeout(lockTimeout)
                    .closing(dataSource)
                    .closing(renewalSource)
                    .build();
            if (createSchema) {
                store.createSchema();
            }
            return store;
        } catch (RuntimeException e) {
            dataSource.close();
            renewalSource.close();
            throw e;
        }
    }

    /** A pool on the URL and credentials of the settings; connecting fails here if the database is unreachable. */
    private static HikariDataSource pool(ProviderSettings settings, String url, String name, int size,
            SqlDatabase database) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(name);
        config.setJdbcUrl(url);
        settings.get(USER).ifPresent(config::setUsername);
        settings.get(PASSWORD).ifPresent(config::setPassword);
        config.setMaximumPoolSize(size);
        config.setAutoCommit(true);
        try {
            return new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("Cannot connect to the database of setting '" + URL + "'", null,
                    Faults.withoutData(e, dialect(database)));
        }
    }

    /**
     * Refuses a server that is not MariaDB (MySQL behind a {@code jdbc:mysql:} URL): the dialect's statements
     * would fail on it one by one, later and less clearly.
     */
    private static void requireMariaDb(Jdbi jdbi, SqlDatabase database) {
        String version;
        try {
            version = jdbi.withHandle(h -> h.createQuery("SELECT VERSION()").mapTo(String.class).one());
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("Cannot ask the server of setting '" + URL + "' for its version", null,
                    Faults.withoutData(e, dialect(database)));
        }
        if (!version.contains("MariaDB")) {
            throw new IdempotencyStoreException("The server of setting '" + URL + "' is not MariaDB (version "
                    + version + "): the SQL store supports MariaDB 10.6 or newer and PostgreSQL; MySQL lacks the"
                    + " sequences, RETURNING and SET STATEMENT its MariaDB statements use", null, null);
        }
    }

    private static SqlDialect dialect(SqlDatabase database) {
        return database == SqlDatabase.POSTGRESQL ? new PostgresDialect() : new MariaDbDialect();
    }

    private static boolean bool(ProviderSettings settings, String name) {
        String raw = settings.get(name).orElse("false");
        return switch (raw.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw settings.malformed(name, raw, "true or false");
        };
    }
}
