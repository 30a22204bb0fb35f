package org.idempotency.jdbi;

import com.zaxxer.hikari.HikariDataSource;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * A real database the tests run against ({@link PostgresDatabase}, {@link MariaDbDatabase}): what the tests that
 * run on several databases need to know about each, so that one test class serves them all.
 */
interface TestDatabase {

    /** Which database this is, for the store's builder. */
    SqlDatabase kind();

    /** The JDBC URL, credentials included. */
    String url();

    /** Where the database came from: an environment variable, the local port or Testcontainers. */
    String source();

    /** A Jdbi on unpooled connections, for setting up, inspecting and breaking things. */
    Jdbi admin();

    /** A pool of its own, whose connections carry {@code applicationName} where the database keeps one. */
    HikariDataSource pool(String applicationName, int size);

    /** Drops a table this test run created, with its sequence. */
    void dropTable(String table);

    /** An identifier quoted for this database's SQL. */
    String quote(String identifier);

    /** The statement that answers the id of the session (backend, connection) that runs it. */
    String sessionIdQuery();

    /** Ends one session of this test's own (by its id) and waits until it is gone. */
    void terminate(long sessionId);

    /**
     * Creates an application table {@code (id, idem_key, node, created_at)} whose {@code id} the database
     * generates, returned by {@code INSERT ... RETURNING id}.
     */
    void createBusinessTable(String name);

    /** A fragment of the acquire statement's SQL, to recognise it among recorded statements. */
    String acquireFragment();

    /** A table name of its own for one test class of one run: parallel runs never share a table. */
    static String uniqueTableName(String prefix) {
        return "idem_" + prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /** A unique application name for a pool. */
    static String uniqueApplicationName(String prefix) {
        return "idem-test-" + prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
