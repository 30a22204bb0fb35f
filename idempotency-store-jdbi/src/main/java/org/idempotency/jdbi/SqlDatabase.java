package org.idempotency.jdbi;

import java.util.Locale;
import java.util.Objects;
import org.idempotency.jdbi.internal.MariaDbDialect;
import org.idempotency.jdbi.internal.PostgresDialect;
import org.idempotency.jdbi.internal.SqlDialect;

/**
 * The databases the store speaks to, each with its own SQL and schema script (a class-path resource, written for
 * the table {@value JdbiIdempotencyStore#DEFAULT_TABLE}); chosen with
 * {@link JdbiIdempotencyStore.Builder#database}, or from a JDBC URL with {@link #fromJdbcUrl}. Immutable and
 * thread-safe.
 */
public enum SqlDatabase {

    /** PostgreSQL 11 or newer; schema script {@value JdbiIdempotencyStore#SCHEMA_RESOURCE}. */
    POSTGRESQL(new PostgresDialect(), PostgresDialect.SCHEMA_RESOURCE),

    /**
     * MariaDB 10.6 or newer (InnoDB); schema script {@value JdbiIdempotencyStore#MARIADB_SCHEMA_RESOURCE}. MySQL
     * servers are not supported: the statements use MariaDB's sequences, {@code RETURNING} and
     * {@code SET STATEMENT}.
     */
    MARIADB(new MariaDbDialect(), MariaDbDialect.SCHEMA_RESOURCE);

    private final SqlDialect dialect;
    private final String schemaResource;

    SqlDatabase(SqlDialect dialect, String schemaResource) {
        this.dialect = dialect;
        this.schemaResource = schemaResource;
    }

    /**
     * The class-path resource holding this database's schema script, written for
     * {@value JdbiIdempotencyStore#DEFAULT_TABLE}.
     *
     * @return the resource path, without a leading slash
     */
    public String schemaResource() {
        return schemaResource;
    }

    /** The dialect: the SQL text of every statement. */
    SqlDialect dialect() {
        return dialect;
    }

    /**
     * The database a JDBC URL points at: {@code jdbc:postgresql:} is {@link #POSTGRESQL}; {@code jdbc:mariadb:}
     * and {@code jdbc:mysql:} (MySQL Connector/J URLs, or the MariaDB driver's MySQL-compatible prefix) are
     * {@link #MARIADB}: the server behind them must be MariaDB.
     *
     * @param url a JDBC URL
     * @return the database
     * @throws IllegalArgumentException naming the supported prefixes if the URL has none of them
     */
    public static SqlDatabase fromJdbcUrl(String url) {
        Objects.requireNonNull(url, "url must not be null");
        String lower = url.toLowerCase(Locale.ROOT);
        if (lower.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        if (lower.startsWith("jdbc:mariadb:") || lower.startsWith("jdbc:mysql:")) {
            return MARIADB;
        }
        int colon = url.indexOf(':', url.indexOf(':') + 1);
        String prefix = colon < 0 || colon > 40 ? "(none)" : url.substring(0, colon + 1);
        throw new IllegalArgumentException("Unsupported JDBC URL prefix " + prefix + ": the SQL store speaks to"
                + " jdbc:postgresql: (PostgreSQL), jdbc:mariadb: and jdbc:mysql: (MariaDB)");
    }
}
