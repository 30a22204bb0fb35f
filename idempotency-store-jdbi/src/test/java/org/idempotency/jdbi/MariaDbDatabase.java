package org.idempotency.jdbi;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.jdbi.v3.core.Jdbi;

/**
 * Finds the MariaDB the tests run against, once per JVM, in this order: the JDBC URL in the environment variable
 * {@value #URL_VARIABLE} (credentials as URL parameters); the standard local server ({@value #LOCAL_URL}); a
 * Testcontainers container when a Docker engine is present. Without any of them the tests fail with a message
 * that says how to provide one: they never skip.
 */
final class MariaDbDatabase implements TestDatabase {

    static final String URL_VARIABLE = "IDEMPOTENCY_MARIADB_URL";
    static final String LOCAL_URL = "jdbc:mariadb://127.0.0.1:3306/test?user=root";

    private static MariaDbDatabase instance;

    private final String url;
    private final String source;
    private final Jdbi admin;

    private MariaDbDatabase(String url, String source) {
        this.url = url;
        this.source = source;
        this.admin = Jdbi.create(url, properties());
    }

    static synchronized MariaDbDatabase get() {
        if (instance == null) {
            instance = locate();
        }
        return instance;
    }

    @Override
    public SqlDatabase kind() {
        return SqlDatabase.MARIADB;
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

    @Override
    public HikariDataSource pool(String applicationName, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setPoolName(applicationName);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(30_000);
        config.setDataSourceProperties(properties());
        return new HikariDataSource(config);
    }

    @Override
    public void dropTable(String table) {
        admin.useHandle(h -> {
            h.execute("DROP TABLE IF EXISTS " + quote(table));
            h.execute("DROP SEQUENCE IF EXISTS " + quote(table + "_fencing_seq"));
        });
    }

    @Override
    public String quote(String identifier) {
        return '`' + identifier + '`';
    }

    @Override
    public String sessionIdQuery() {
        return "SELECT CONNECTION_ID()";
    }

    @Override
    public void terminate(long sessionId) {
        admin.useHandle(h -> h.execute("KILL CONNECTION " + sessionId));
        Observed.eventually("connection " + sessionId + " is gone", () -> admin.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :id").bind("id", sessionId)
                .mapTo(Integer.class).one()) == 0);
    }

    @Override
    public void createBusinessTable(String name) {
        admin.useHandle(h -> h.execute("CREATE TABLE " + quote(name) + " (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
                + " idem_key VARCHAR(400) NOT NULL, node VARCHAR(100) NOT NULL,"
                + " created_at DATETIME(6) NOT NULL DEFAULT UTC_TIMESTAMP(6)) ENGINE = InnoDB"));
    }

    @Override
    public String acquireFragment() {
        return "ON DUPLICATE KEY UPDATE";
    }

    private static Properties properties() {
        Properties properties = new Properties();
        properties.setProperty("connectTimeout", "5000");
        return properties;
    }

    private static MariaDbDatabase locate() {
        String fromEnvironment = System.getenv(URL_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            String problem = tryConnect(fromEnvironment);
            if (problem != null) {
                throw new IllegalStateException("The MariaDB named by " + URL_VARIABLE + " cannot be reached: "
                        + problem);
            }
            return new MariaDbDatabase(fromEnvironment, URL_VARIABLE);
        }
        String localProblem = tryConnect(LOCAL_URL);
        if (localProblem == null) {
            return new MariaDbDatabase(LOCAL_URL, "127.0.0.1:3306");
        }
        if (Containers.dockerAvailable()) {
            return new MariaDbDatabase(Containers.startMariaDb(), "Testcontainers");
        }
        throw new IllegalStateException("These tests need a real MariaDB (10.6 or newer). None was found: "
                + URL_VARIABLE + " is not set, " + LOCAL_URL + " failed (" + localProblem + "), and no Docker"
                + " engine is available for Testcontainers. Provide one of them, for example start MariaDB locally"
                + " (start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd, then"
                + " mariadb -uroot -e 'CREATE DATABASE IF NOT EXISTS test'), or set " + URL_VARIABLE
                + "=jdbc:mariadb://host:3306/db?user=...&password=...");
    }

    private static String tryConnect(String url) {
        try (Connection connection = DriverManager.getConnection(url, properties())) {
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
        static String startMariaDb() {
            org.testcontainers.containers.GenericContainer<?> container =
                    new org.testcontainers.containers.GenericContainer<>("mariadb:10.11")
                            .withEnv("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1")
                            .withEnv("MARIADB_DATABASE", "test")
                            .withExposedPorts(3306)
                            .waitingFor(org.testcontainers.containers.wait.strategy.Wait
                                    .forLogMessage(".*ready for connections.*", 2));
            container.start();
            return "jdbc:mariadb://" + container.getHost() + ":" + container.getMappedPort(3306) + "/test?user=root";
        }
    }
}
