package org.idempotency.jdbi.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.Locale;
import java.util.Set;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.IdempotencyStoreProvider;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;

/**
 * Discovers the Jdbi store as provider {@code jdbi} and builds it from settings, on a HikariCP pool of its own
 * that the store closes on {@code close()}:
 *
 * <ul>
 *   <li>{@code idempotency.jdbi.url}: the JDBC URL ({@code jdbc:postgresql://host:5432/db}); required</li>
 *   <li>{@code idempotency.jdbi.user}, {@code idempotency.jdbi.password}: the credentials, unless in the URL</li>
 *   <li>{@code idempotency.jdbi.table}: the table, {@code table} or {@code schema.table} (default
 *       {@code idempotency_records})</li>
 *   <li>{@code idempotency.jdbi.pool-size}: the most connections the pool opens (default 10)</li>
 *   <li>{@code idempotency.jdbi.purge-batch-size}: rows per purge statement (default 1000)</li>
 *   <li>{@code idempotency.jdbi.create-schema}: {@code true} to create the table if missing (default
 *       {@code false}: apply the schema script with your migrations)</li>
 * </ul>
 *
 * <p>The Jdbi has the {@link PostgresPlugin} installed; {@code store.jdbi()} hands it to transactional work.
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

    public JdbiStoreProvider() {
    }

    @Override
    public String name() {
        return "jdbi";
    }

    @Override
    public IdempotencyStore create(ProviderSettings settings) {
        settings.rejectUnknown(PREFIX, Set.of(URL, USER, PASSWORD, TABLE, POOL_SIZE, PURGE_BATCH_SIZE, CREATE_SCHEMA));
        String url = settings.require(URL);
        if (!url.startsWith("jdbc:")) {
            throw settings.malformed(URL, url, "a JDBC URL such as jdbc:postgresql://localhost:5432/app");
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

        HikariConfig config = new HikariConfig();
        config.setPoolName("idempotency-jdbi");
        config.setJdbcUrl(url);
        settings.get(USER).ifPresent(config::setUsername);
        settings.get(PASSWORD).ifPresent(config::setPassword);
        config.setMaximumPoolSize(poolSize);
        config.setAutoCommit(true);
        HikariDataSource dataSource;
        try {
            dataSource = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("Cannot connect to the database of setting '" + URL + "'", null, e);
        }
        try {
            Jdbi jdbi = Jdbi.create(dataSource).installPlugin(new PostgresPlugin());
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi)
                    .table(table)
                    .purgeBatchSize(purgeBatchSize)
                    .closing(dataSource)
                    .build();
            if (createSchema) {
                store.createSchema();
            }
            return store;
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
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
