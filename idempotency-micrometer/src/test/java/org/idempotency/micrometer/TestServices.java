package org.idempotency.micrometer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.UUID;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Finds the Redis and PostgreSQL servers the tests run against, once per JVM, in the order every test suite of
 * this project uses: the environment variable ({@value #REDIS_VARIABLE}, {@value #POSTGRES_VARIABLE}); the
 * standard local port; a Testcontainers container when a Docker engine is present. Without any of them the tests
 * fail with a message that says how to provide one. The servers may be shared: every test writes under a key
 * prefix or a table of its own run.
 */
final class TestServices {

    static final String REDIS_VARIABLE = "IDEMPOTENCY_REDIS_URL";
    static final String POSTGRES_VARIABLE = "IDEMPOTENCY_POSTGRES_URL";
    private static final String LOCAL_POSTGRES = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

    private static String redis;
    private static String postgres;

    private TestServices() {
    }

    /** The Redis address, such as {@code redis://127.0.0.1:6379}. */
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

    /** A Redis key prefix no other run uses, ending with its only ':'. */
    static String uniqueRedisPrefix(String name) {
        return "idempotency-test-" + name + "-" + UUID.randomUUID().toString().substring(0, 8) + ":";
    }

    /** A table name no other run uses. */
    static String uniqueTableName(String name) {
        return "idem_" + name + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    private static String findRedis() {
        String fromEnvironment = System.getenv(REDIS_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return fromEnvironment.trim();
        }
        if (answersPing("127.0.0.1", 6379)) {
            return "redis://127.0.0.1:6379";
        }
        if (dockerAvailable()) {
            @SuppressWarnings("resource") // lives as long as the JVM; Testcontainers removes it afterwards
            GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse("redis:7-alpine"))
                    .withExposedPorts(6379);
            container.start();
            return "redis://" + container.getHost() + ":" + container.getMappedPort(6379);
        }
        throw new IllegalStateException("No Redis server for the tests: set " + REDIS_VARIABLE + "=redis://host:port,"
                + " or run Redis 7+ on 127.0.0.1:6379, or make a Docker engine available for Testcontainers");
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
        if (dockerAvailable()) {
            @SuppressWarnings("resource") // lives as long as the JVM; Testcontainers removes it afterwards
            PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
            container.start();
            return container.getJdbcUrl() + (container.getJdbcUrl().contains("?") ? "&" : "?") + "user="
                    + container.getUsername() + "&password=" + container.getPassword();
        }
        throw new IllegalStateException("These tests need a real PostgreSQL (11 or newer). None was found: "
                + POSTGRES_VARIABLE + " is not set, " + LOCAL_POSTGRES + " failed (" + localProblem + "), and no"
                + " Docker engine is available for Testcontainers. Start PostgreSQL locally with a database 'test'"
                + " that user 'postgres' can reach, or set " + POSTGRES_VARIABLE
                + "=jdbc:postgresql://host:5432/db?user=...&password=...");
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

    private static String tryConnect(String url) {
        Properties properties = new Properties();
        properties.setProperty("connectTimeout", "5");
        try (Connection connection = DriverManager.getConnection(url, properties)) {
            return connection.isValid(5) ? null : "the connection is not valid";
        } catch (SQLException e) {
            return e.getMessage();
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }
}
