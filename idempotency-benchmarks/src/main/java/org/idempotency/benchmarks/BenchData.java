package org.idempotency.benchmarks;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** What every store benchmark shares: the result, the request hash, how keys are made and where services are. */
final class BenchData {

    /** A typical small result. */
    public record Order(String id, String customer, long amountCents, List<String> items) {
    }

    static final Order ORDER = new Order("ord-1", "cust-42", 1999, List.of("book", "pen"));

    static final String HASH = "5d41402abc4b2a76b9719d911017c592ae4f1a5b0c4c6f5c7e2b1f9a3c2d1e0f";

    /**
     * In the contention cases this many consecutive calls, from whichever threads make them, share one key: with
     * 8 threads they arrive together, one claims the key and the others find it in progress or completed; with
     * one thread the first call runs the work and the next seven replay it.
     */
    static final int CALLS_PER_CONTENDED_KEY = 8;

    private BenchData() {
    }

    /** The key of the {@code n}-th call of a contention case. */
    static String contendedKey(String prefix, long n) {
        return prefix + "c" + (n / CALLS_PER_CONTENDED_KEY);
    }

    /** A short name of this run, so that keys and tables of concurrent or earlier runs never meet. */
    static String runId() {
        return UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    static String redisAddress() {
        return System.getenv().getOrDefault("IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379");
    }

    /** The host and port of {@link #redisAddress()} (6379 unless the address names another). */
    static InetSocketAddress redisSocket() {
        URI uri = URI.create(redisAddress());
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("IDEMPOTENCY_REDIS_URL names no host: " + redisAddress());
        }
        return InetSocketAddress.createUnresolved(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort());
    }

    /**
     * The Redis address the benchmarks use on {@code network}: the server's own on loopback, else that of a
     * {@link LatencyProxy} to it, started here (the caller closes it; {@code null} on loopback).
     */
    static String redisAddress(@Nullable LatencyProxy proxy) {
        if (proxy == null) {
            return redisAddress();
        }
        URI uri = URI.create(redisAddress());
        return uri.getScheme() + "://" + (uri.getRawUserInfo() == null ? "" : uri.getRawUserInfo() + "@")
                + "127.0.0.1:" + proxy.port();
    }

    /** A proxy to Redis for {@code network}, or {@code null} on loopback. */
    static @Nullable LatencyProxy redisProxy(String network) {
        Duration delay = LatencyProxy.delayOf(network);
        if (delay.isZero()) {
            return null;
        }
        InetSocketAddress redis = redisSocket();
        return LatencyProxy.start(redis.getHostString(), redis.getPort(), delay);
    }

    /** A proxy to PostgreSQL for {@code network}, or {@code null} on loopback. */
    static @Nullable LatencyProxy postgresProxy(String network) {
        Duration delay = LatencyProxy.delayOf(network);
        if (delay.isZero()) {
            return null;
        }
        Matcher m = JDBC_HOST.matcher(postgresUrl());
        if (!m.lookingAt()) {
            throw new IllegalArgumentException("IDEMPOTENCY_POSTGRES_URL is not jdbc:postgresql://host[:port]/...: "
                    + postgresUrl());
        }
        return LatencyProxy.start(m.group(1), m.group(2) == null ? 5432 : Integer.parseInt(m.group(2)), delay);
    }

    /** The JDBC URL the benchmarks use: the server's own on loopback, else through {@code proxy}. */
    static String postgresUrl(@Nullable LatencyProxy proxy) {
        if (proxy == null) {
            return postgresUrl();
        }
        Matcher m = JDBC_HOST.matcher(postgresUrl());
        if (!m.lookingAt()) {
            throw new IllegalArgumentException("IDEMPOTENCY_POSTGRES_URL is not jdbc:postgresql://host[:port]/...: "
                    + postgresUrl());
        }
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + postgresUrl().substring(m.end());
    }

    private static final Pattern JDBC_HOST = Pattern.compile("jdbc:postgresql://([^:/?]+)(?::([0-9]+))?");

    static String postgresUrl() {
        return System.getenv().getOrDefault("IDEMPOTENCY_POSTGRES_URL",
                "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    }
}
