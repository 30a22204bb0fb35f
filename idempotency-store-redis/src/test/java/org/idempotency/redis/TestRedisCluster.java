package org.idempotency.redis;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * Finds the Redis Cluster the cluster tests run against: the nodes in the environment variable
 * {@code IDEMPOTENCY_REDIS_CLUSTER_URL} (comma separated, {@code redis://host:port}), else the three masters and
 * three replicas that {@code scripts/redis-topology.sh} starts on 127.0.0.1:7001-7006. Without a healthy cluster
 * the tests fail, saying to run that script. Also the tests' view of the topology (which master serves a slot,
 * its replica), through {@link RedisAdmin} connections to single nodes.
 */
final class TestRedisCluster {

    static final String ENV = "IDEMPOTENCY_REDIS_CLUSTER_URL";
    private static final List<String> LOCAL = List.of("redis://127.0.0.1:7001", "redis://127.0.0.1:7002",
            "redis://127.0.0.1:7003", "redis://127.0.0.1:7004", "redis://127.0.0.1:7005", "redis://127.0.0.1:7006");
    static final String HOW = "run scripts/redis-topology.sh (it starts a Redis Cluster of three masters and three"
            + " replicas on 127.0.0.1:7001-7006, and repairs one a test left broken), or set " + ENV
            + "=redis://host:port,... to the nodes of another cluster";

    private TestRedisCluster() {
    }

    /** The cluster's node addresses. */
    static List<String> nodes() {
        String fromEnv = System.getenv(ENV);
        if (fromEnv == null || fromEnv.isBlank()) {
            return LOCAL;
        }
        List<String> nodes = new ArrayList<>();
        for (String node : fromEnv.split(",")) {
            if (!node.isBlank()) {
                nodes.add(node.trim());
            }
        }
        return List.copyOf(nodes);
    }

    /** A new Redisson client of the cluster, once it is healthy; the caller shuts it down. */
    static RedissonClient newClient() {
        awaitHealthy();
        Config config = new Config();
        // a short scan interval, so that the client learns a failover or a moved slot within a second
        config.useClusterServers().addNodeAddress(nodes().toArray(String[]::new)).setScanInterval(500);
        try {
            return Redisson.create(config);
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot connect to the test Redis Cluster at " + nodes() + ": " + HOW
                    + ": " + e, e);
        }
    }

    /** An admin connection to one node of the cluster, by address. */
    static RedisAdmin admin(String address) {
        URI uri = URI.create(address);
        return RedisAdmin.connect(uri.getHost(), uri.getPort());
    }

    /**
     * Waits (up to 30 s) until every node answers and reports {@code cluster_state:ok}, every slot is served, no
     * slot is half migrated and every replica's link is up: a test that changed the topology may have left it
     * converging. Fails with how to start or repair the cluster.
     */
    static void awaitHealthy() {
        if (nodes().stream().map(URI::create).noneMatch(uri -> TestRedis.answersPing(uri.getHost(), uri.getPort()))) {
            throw new IllegalStateException("No Redis Cluster for the tests: no node answers at " + nodes() + ": "
                    + HOW);
        }
        String problem;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            problem = problem();
            if (problem == null) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("No healthy Redis Cluster for the tests at " + nodes() + " ("
                        + problem + "): " + HOW);
            }
            sleep(200);
        }
    }

    /** What is wrong with the cluster, or null when it is healthy. */
    private static String problem() {
        for (String node : nodes()) {
            if (!TestRedis.answersPing(URI.create(node).getHost(), URI.create(node).getPort())) {
                return node + " does not answer";
            }
            try (RedisAdmin admin = admin(node)) {
                if (!"ok".equals(admin.clusterInfo("cluster_state"))) {
                    return node + " reports cluster_state:" + admin.clusterInfo("cluster_state");
                }
                if (!"16384".equals(admin.clusterInfo("cluster_slots_ok"))) {
                    return node + " sees " + admin.clusterInfo("cluster_slots_ok") + " slots served";
                }
                if ("slave".equals(admin.info("replication", "role"))
                        && !"up".equals(admin.info("replication", "master_link_status"))) {
                    return node + " is a replica whose link to its master is down";
                }
                String nodes = admin.string("CLUSTER", "NODES");
                if (nodes.contains("[")) {
                    return node + " has a slot half migrated";
                }
                if (nodes.contains("fail") || nodes.contains("handshake")) {
                    return node + " sees a failing node";
                }
            } catch (RuntimeException e) {
                return node + ": " + e.getMessage();
            }
        }
        return null;
    }

    /** The slot of a key. */
    static int slot(String key) {
        try (RedisAdmin admin = admin(nodes().get(0))) {
            return ((Long) admin.call("CLUSTER", "KEYSLOT", key)).intValue();
        }
    }

    /** The address ({@code redis://host:port}) of the master serving each slot range start, by range start. */
    @SuppressWarnings("unchecked")
    static Map<Integer, String> slotRanges(RedisAdmin admin) {
        Map<Integer, String> ranges = new TreeMap<>();
        for (Object range : (List<Object>) admin.call("CLUSTER", "SLOTS")) {
            List<Object> r = (List<Object>) range;
            List<Object> master = (List<Object>) r.get(2);
            ranges.put(((Long) r.get(0)).intValue(), "redis://" + master.get(0) + ":" + master.get(1));
        }
        return ranges;
    }

    /** The address of the master serving a slot now. */
    @SuppressWarnings("unchecked")
    static String masterOf(int slot) {
        try (RedisAdmin admin = admin(nodes().get(0))) {
            for (Object range : (List<Object>) admin.call("CLUSTER", "SLOTS")) {
                List<Object> r = (List<Object>) range;
                if (((Long) r.get(0)) <= slot && slot <= ((Long) r.get(1))) {
                    List<Object> master = (List<Object>) r.get(2);
                    return "redis://" + master.get(0) + ":" + master.get(1);
                }
            }
        }
        throw new IllegalStateException("No master serves slot " + slot + ": " + HOW);
    }

    /** The addresses of the masters. */
    static Set<String> masters() {
        try (RedisAdmin admin = admin(nodes().get(0))) {
            return new TreeSet<>(slotRanges(admin).values());
        }
    }

    static void eventually(String what, long seconds, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after " + seconds + " s waiting until " + what);
            }
            sleep(100);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
