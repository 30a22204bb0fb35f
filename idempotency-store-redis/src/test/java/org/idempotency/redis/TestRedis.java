package org.idempotency.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Finds the Redis server the tests run against, in this order: the environment variable
 * {@code IDEMPOTENCY_REDIS_URL} (such as {@code redis://127.0.0.1:6379}); a server on 127.0.0.1:6379;
 * a Redis container started with Testcontainers when a Docker engine is present. Otherwise the tests fail,
 * saying how to provide one. The server may be shared: every test class writes under a key prefix of its own.
 */
final class TestRedis {

    static final String ENV = "IDEMPOTENCY_REDIS_URL";
    private static final String LOCAL = "redis://127.0.0.1:6379";
    private static String address;
    private static GenericContainer<?> container;

    private TestRedis() {
    }

    /** The address of the Redis server to test against. */
    static synchronized String address() {
        if (address == null) {
            address = find();
        }
        return address;
    }

    private static String find() {
        String fromEnv = System.getenv(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv.trim();
        }
        if (answersPing("127.0.0.1", 6379)) {
            return LOCAL;
        }
        if (DockerClientFactory.instance().isDockerAvailable()) {
            container = new GenericContainer<>(DockerImageName.parse("redis:7-alpine")).withExposedPorts(6379);
            container.start();
            return "redis://" + container.getHost() + ":" + container.getMappedPort(6379);
        }
        throw new IllegalStateException("No Redis server for the tests: set " + ENV + "=redis://host:port, or run"
                + " Redis 7+ on 127.0.0.1:6379 (for example `redis-server --port 6379`), or make a Docker engine"
                + " available so that Testcontainers can start one");
    }

    /** Whether a Redis server answers on the port (a NOAUTH error counts: the server is there). */
    static boolean answersPing(String host, int port) {
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

    /** The host and port of the test server. */
    static URI uri() {
        return URI.create(address());
    }

    /** A Redisson configuration for the test server. */
    static Config config() {
        Config config = new Config();
        config.useSingleServer().setAddress(address());
        return config;
    }

    /** A new Redisson client for the test server; the caller shuts it down. */
    static RedissonClient newClient() {
        try {
            return Redisson.create(config());
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot connect to the test Redis at " + address() + " (set " + ENV
                    + " to choose another server): " + e, e);
        }
    }

    /** A key prefix no other test run uses (ending with its only ':', as prefixes must). */
    static String uniquePrefix(String name) {
        return "idempotency-test-" + name + "-" + UUID.randomUUID().toString().substring(0, 8) + ":";
    }

    /** Deletes the keys a test class wrote under its prefix (they would expire anyway). */
    static void deleteKeys(RedissonClient client, String prefix) {
        client.getKeys().deleteByPattern(prefix + "*");
    }
}
