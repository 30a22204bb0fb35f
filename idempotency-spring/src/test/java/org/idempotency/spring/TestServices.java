package org.idempotency.spring;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * Finds the real Redis and PostgreSQL the tests run against, once per JVM, in this order: the environment
 * variables {@code IDEMPOTENCY_REDIS_URL} ({@code redis://host:port}) and {@code IDEMPOTENCY_POSTGRES_URL} (a JDBC
 * URL with its credentials); the standard local ports (127.0.0.1:6379, and 127.0.0.1:5432 database {@code test}
 * user {@code postgres}); containers started with Testcontainers when a Docker engine is present. Without any,
 * the tests fail and say how to provide one. The servers may be shared: tests use names of their own
 * ({@link #unique}) and drop only what they created.
 */
final class TestServices {

    static final String REDIS_VARIABLE = "IDEMPOTENCY_REDIS_URL";
    static final String POSTGRES_VARIABLE = "IDEMPOTENCY_POSTGRES_URL";
    private static final String LOCAL_POSTGRES = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
    private static String redis;
    private static String postgres;

    private TestServices() {
    }

    /** A name no other test run uses, such as {@code idem_orders_1a2b3c4d5e6f}: lower case, a valid SQL name. */
    static String unique(String prefix) {
        return "idem_" + prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /** The Redis address, {@code redis://host:port}. */
    static synchronized String redisAddress() {
        if (redis == null) {
            redis = findRedis();
        }
        return redis;
    }

    /** The PostgreSQL JDBC URL, credentials included. */
    static synchronized String postgresUrl() {
        if (postgres == null) {
            postgres = findPostgres();
        }
        return postgres;
    }

    /** A small pool on the test PostgreSQL; the caller closes it. */
    static HikariDataSource postgresPool(String name, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(postgresUrl());
        config.setPoolName(name);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(0);
        config.addDataSourceProperty("ApplicationName", name);
        return new HikariDataSource(config);
    }

    /**
     * A small pool on the test MariaDB: the one named by {@code IDEMPOTENCY_MARIADB_URL}, or the one on
     * 127.0.0.1:3306 (database {@code test}, user {@code root}); the caller closes it.
     */
    static HikariDataSource mariaDbPool(String name, int size) {
        String fromEnv = System.getenv("IDEMPOTENCY_MARIADB_URL");
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(fromEnv == null || fromEnv.isBlank() ? "jdbc:mariadb://127.0.0.1:3306/test?user=root"
                : fromEnv.trim());
        config.setPoolName(name);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(0);
        try {
            return new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new IllegalStateException("No MariaDB for the tests at " + config.getJdbcUrl() + ": set"
                    + " IDEMPOTENCY_MARIADB_URL=jdbc:mariadb://host:3306/db?user=...&password=..., or start MariaDB"
                    + " on 127.0.0.1:3306 with a database named test", e);
        }
    }

    /** Runs statements on the test PostgreSQL, such as dropping what a test created. */
    static void execute(String... statements) {
        try (Connection connection = DriverManager.getConnection(postgresUrl());
                Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot run " + String.join("; ", statements) + ": " + e.getMessage(), e);
        }
    }

    private static String findRedis() {
        String fromEnvironment = System.getenv(REDIS_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return fromEnvironment.trim();
        }
        if (answersPing("127.0.0.1", 6379)) {
            return "redis://127.0.0.1:6379";
        }
        if (Containers.dockerAvailable()) {
            return Containers.startRedis();
        }
        throw new IllegalStateException("These tests need a real Redis (7 or newer): set " + REDIS_VARIABLE
                + "=redis://host:port, or run Redis on 127.0.0.1:6379, or make a Docker engine available so that"
                + " Testcontainers can start one");
    }

    private static String findPostgres() {
        String fromEnvironment = System.getenv(POSTGRES_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            String problem = tryConnect(fromEnvironment.trim());
            if (problem != null) {
                throw new IllegalStateException("The PostgreSQL named by " + POSTGRES_VARIABLE + " cannot be reached: "
                        + problem);
            }
            return fromEnvironment.trim();
        }
        String localProblem = tryConnect(LOCAL_POSTGRES);
        if (localProblem == null) {
            return LOCAL_POSTGRES;
        }
        if (Containers.dockerAvailable()) {
            return Containers.startPostgres();
        }
        throw new IllegalStateException("These tests need a real PostgreSQL (11 or newer): set " + POSTGRES_VARIABLE
                + "=jdbc:postgresql://host:5432/db?user=...&password=..., or run PostgreSQL on 127.0.0.1:5432 with a"
                + " database 'test' that user 'postgres' can reach (" + localProblem + "), or make a Docker engine"
                + " available so that Testcontainers can start one");
    }

    private static String tryConnect(String url) {
        try (Connection connection = DriverManager.getConnection(url)) {
            return connection.isValid(5) ? null : "the connection is not valid";
        } catch (SQLException e) {
            return e.getMessage();
        }
    }

    private static boolean answersPing(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 1000);
            socket.setSoTimeout(2000);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            int first = in.read();
            return first == '+' || first == '-';
        } catch (IOException e) {
            return false;
        }
    }

    /** Testcontainers, touched only when no other server was found. */
    private static final class Containers {

        static boolean dockerAvailable() {
            try {
                return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }

        @SuppressWarnings("resource") // lives as long as the JVM; Testcontainers removes it afterwards
        static String startRedis() {
            org.testcontainers.containers.GenericContainer<?> container =
                    new org.testcontainers.containers.GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
            container.start();
            return "redis://" + container.getHost() + ":" + container.getMappedPort(6379);
        }

        @SuppressWarnings("resource")
        static String startPostgres() {
            org.testcontainers.postgresql.PostgreSQLContainer container =
                    new org.testcontainers.postgresql.PostgreSQLContainer("postgres:16-alpine");
            container.start();
            return container.getJdbcUrl() + (container.getJdbcUrl().contains("?") ? "&" : "?") + "user="
                    + container.getUsername() + "&password=" + container.getPassword();
        }
    }
}
