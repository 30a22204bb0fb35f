package org.idempotency.jdbi;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.jdbi.v3.core.Jdbi;

/**
 * Finds the PostgreSQL the tests run against, once per JVM, in this order: the JDBC URL in the environment
 * variable {@value #URL_VARIABLE} (credentials as URL parameters); the standard local server
 * ({@value #LOCAL_URL}); a Testcontainers container when a Docker engine is present. Without any of them the
 * tests fail with a message that says how to provide one: they never skip.
 */
final class PostgresDatabase implements TestDatabase {

    static final String URL_VARIABLE = "IDEMPOTENCY_POSTGRES_URL";
    static final String LOCAL_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

    private static PostgresDatabase instance;

    private final String url;
    private final String source;
    private final Jdbi admin;

    private PostgresDatabase(String url, String source) {
        this.url = url;
        this.source = source;
        this.admin = Jdbi.create(url, properties("idempotency-test-admin"));
    }

    static synchronized PostgresDatabase get() {
        if (instance == null) {
            instance = locate();
        }
        return instance;
    }

    @Override
    public SqlDatabase kind() {
        return SqlDatabase.POSTGRESQL;
    }

    @Override
    public String url() {
        return url;
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public Jdbi admin() {
        return admin;
    }

    /**
     * A pool whose connections carry {@code applicationName}, so that a test can find its own backends in
     * {@code pg_stat_activity} (and terminate only those).
     */
    @Override
    public HikariDataSource pool(String applicationName, int size) {
        return pool(applicationName, size, new Properties());
    }

    /** A pool as above, with more driver properties (such as {@code currentSchema}). */
    HikariDataSource pool(String applicationName, int size, Properties driverProperties) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setPoolName(applicationName);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(30_000);
        Properties properties = properties(applicationName);
        properties.putAll(driverProperties);
        config.setDataSourceProperties(properties);
        return new HikariDataSource(config);
    }

    /** A table name of its own for one test class of one run: parallel runs never share a table. */
    static String uniqueTableName(String prefix) {
        return TestDatabase.uniqueTableName(prefix);
    }

    /** A unique application name for a pool. */
    static String uniqueApplicationName(String prefix) {
        return TestDatabase.uniqueApplicationName(prefix);
    }

    @Override
    public void dropTable(String table) {
        admin.useHandle(h -> {
            h.execute("DROP TABLE IF EXISTS \"" + table + "\" CASCADE");
            h.execute("DROP SEQUENCE IF EXISTS \"" + table + "_fencing_seq\"");
        });
    }

    @Override
    public String quote(String identifier) {
        return '"' + identifier + '"';
    }

    @Override
    public String sessionIdQuery() {
        return "SELECT pg_backend_pid()";
    }

    @Override
    public void terminate(long sessionId) {
        admin.useHandle(h -> h.createQuery("SELECT pg_terminate_backend(CAST(:pid AS integer))")
                .bind("pid", sessionId).mapTo(Boolean.class).one());
        Observed.eventually("backend " + sessionId + " is gone", () -> admin.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(:pid AS integer)").bind("pid", sessionId)
                .mapTo(Integer.class).one()) == 0);
    }

    @Override
    public void createBusinessTable(String name) {
        admin.useHandle(h -> h.execute("CREATE TABLE " + quote(name) + " (id bigserial PRIMARY KEY,"
                + " idem_key text NOT NULL, node text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"));
    }

    @Override
    public String acquireFragment() {
        return "ON CONFLICT";
    }

    private static Properties properties(String applicationName) {
        Properties properties = new Properties();
        properties.setProperty("ApplicationName", applicationName);
        properties.setProperty("connectTimeout", "5");
        return properties;
    }

    private static PostgresDatabase locate() {
        String fromEnvironment = System.getenv(URL_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            String problem = tryConnect(fromEnvironment);
            if (problem != null) {
                throw new IllegalStateException("The PostgreSQL named by " + URL_VARIABLE + " cannot be reached: "
                        + problem);
            }
            return new PostgresDatabase(fromEnvironment, URL_VARIABLE);
        }
        String localProblem = tryConnect(LOCAL_URL);
        if (localProblem == null) {
            return new PostgresDatabase(LOCAL_URL, "127.0.0.1:5432");
        }
        if (Containers.dockerAvailable()) {
            return new PostgresDatabase(Containers.startPostgres(), "Testcontainers");
        }
        throw new IllegalStateException("These tests need a real PostgreSQL (11 or newer). None was found: "
                + URL_VARIABLE + " is not set, " + LOCAL_URL + " failed (" + localProblem + "), and no Docker"
                + " engine is available for Testcontainers. Provide one of them, for example start PostgreSQL"
                + " locally with a database 'test' that user 'postgres' can reach, or set " + URL_VARIABLE
                + "=jdbc:postgresql://host:5432/db?user=...&password=...");
    }

    private static String tryConnect(String url) {
        try (Connection connection = DriverManager.getConnection(url, properties("idempotency-test-probe"))) {
            return connection.isValid(5) ? null : "the connection is not valid";
        } catch (SQLException e) {
            return e.getMessage();
        }
    }

    /** Testcontainers, touched only when no other database was found. */
    private static final class Containers {

        static boolean dockerAvailable() {
            try {
                return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }

        @SuppressWarnings("resource") // lives as long as the JVM; Testcontainers removes it afterwards
        static String startPostgres() {
            org.testcontainers.postgresql.PostgreSQLContainer container =
                    new org.testcontainers.postgresql.PostgreSQLContainer("postgres:16-alpine");
            container.start();
            return container.getJdbcUrl() + (container.getJdbcUrl().contains("?") ? "&" : "?") + "user="
                    + container.getUsername() + "&password=" + container.getPassword();
        }
    }
}
