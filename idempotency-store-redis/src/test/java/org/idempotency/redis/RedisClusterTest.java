package org.idempotency.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.redis.internal.RedisScripts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;

/**
 * What the Redis store does on a real Redis Cluster beyond the contracts: batches across the masters, a node
 * without the scripts, a slot migrated while traffic runs, a master killed. The tests that change the topology
 * restore it before they end (a killed master is started again and takes its role back; a migrated slot goes
 * back), so the other test classes and the next run see the cluster as {@code scripts/redis-topology.sh} left it.
 */
class RedisClusterTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration RETENTION = Duration.ofHours(1);

    private static RedissonClient client;
    private static String prefix;

    @BeforeAll
    static void connect() {
        client = TestRedisCluster.newClient();
        prefix = TestRedis.uniquePrefix("cluster");
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    private static RedisIdempotencyStore store() {
        return RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }

    private static long token(AcquireResult result) {
        assertThat(result).isInstanceOf(AcquireResult.Acquired.class);
        return ((AcquireResult.Acquired) result).fencingToken();
    }

    /** Stored keys whose records fall on every master of the cluster, a few on each. */
    private static List<String> keysOnEveryMaster(RedisIdempotencyStore store, int perMaster) {
        Map<String, Integer> count = new HashMap<>();
        for (String master : TestRedisCluster.masters()) {
            count.put(master, 0);
        }
        List<String> keys = new ArrayList<>();
        for (int i = 0; count.values().stream().anyMatch(n -> n < perMaster); i++) {
            String key = "op:" + UUID.randomUUID() + "-" + i;
            String master = TestRedisCluster.masterOf(TestRedisCluster.slot(store.redisKey(key)));
            if (count.get(master) < perMaster) {
                count.merge(master, 1, Integer::sum);
                keys.add(key);
            }
        }
        return keys;
    }

    private static boolean existsOnItsMaster(RedisIdempotencyStore store, String key) {
        String redisKey = store.redisKey(key);
        try (RedisAdmin master = TestRedisCluster.admin(TestRedisCluster.masterOf(TestRedisCluster.slot(redisKey)))) {
            return Long.valueOf(1).equals(master.call("EXISTS", redisKey));
        }
    }

    @Nested
    @DisplayName("Redis Cluster: a batch")
    class Batches {

        @Test
        @DisplayName("spanning every master is acquired in one call, each record on its own master, and renewed")
        void acrossSlots() {
            RedisIdempotencyStore store = store();
            List<String> keys = keysOnEveryMaster(store, 4);
            List<AcquireRequest> requests = keys.stream().map(key -> new AcquireRequest(key, "h")).toList();

            List<AcquireResult> first = store.acquireAll(requests, LEASE);
            List<AcquireResult> again = store.acquireAll(requests, LEASE);

            List<OwnedKey> owned = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                owned.add(new OwnedKey(keys.get(i), token(first.get(i))));
                assertThat(again.get(i)).isInstanceOf(AcquireResult.Existing.class);
                assertThat(existsOnItsMaster(store, keys.get(i))).as("record of %s on its master", keys.get(i)).isTrue();
            }
            assertThat(store.extendAll(owned, LEASE)).hasSize(keys.size()).containsOnly(true);
            assertThat(owned.stream().map(OwnedKey::fencingToken).distinct()).hasSize(keys.size());
        }
    }

    @Nested
    @DisplayName("Redis Cluster: scripts")
    class Scripts {

        @Test
        @DisplayName("missing on one master (NOSCRIPT) are loaded again, for single calls and for batches")
        void noScriptOnOneMaster() {
            RedisIdempotencyStore store = store();
            List<String> keys = keysOnEveryMaster(store, 2);
            String master = TestRedisCluster.masterOf(TestRedisCluster.slot(store.redisKey(keys.get(0))));
            store.acquire("op:warm-up-" + UUID.randomUUID(), "h", LEASE);
            try (RedisAdmin admin = TestRedisCluster.admin(master)) {
                admin.call("SCRIPT", "FLUSH");
                long token = token(store.acquire(keys.get(0), "h", LEASE));
                assertThat(admin.call("SCRIPT", "EXISTS", RedisScripts.ACQUIRE.sha())).isEqualTo(List.of(1L));

                admin.call("SCRIPT", "FLUSH");
                assertThat(store.complete(keys.get(0), token, StoredResult.of(bytes("done")), RETENTION)).isTrue();

                admin.call("SCRIPT", "FLUSH");
                List<AcquireRequest> requests = keys.subList(1, keys.size()).stream()
                        .map(key -> new AcquireRequest(key, "h")).toList();
                assertThat(store.acquireAll(requests, LEASE)).allSatisfy(
                        result -> assertThat(result).isInstanceOf(AcquireResult.Acquired.class));
                assertThat(admin.call("SCRIPT", "EXISTS", RedisScripts.ACQUIRE.sha())).isEqualTo(List.of(1L));
            }
            assertThat(store.find(keys.get(0))).get().extracting(IdempotencyRecord::status)
                    .isEqualTo(RecordStatus.COMPLETED);
        }
    }

    @Nested
    @DisplayName("Redis Cluster: a slot migrated while traffic runs")
    class Migration {

        @Test
        @DisplayName("redirects calls (MOVED, ASK) without losing a claim or running any work twice")
        void migrateUnderTraffic() throws Exception {
            RedisIdempotencyStore store = store();
            String tag = "{migrate-" + UUID.randomUUID().toString().substring(0, 8) + "}";
            int slot = TestRedisCluster.slot(tag);
            String source = TestRedisCluster.masterOf(slot);
            String target = TestRedisCluster.masters().stream().filter(m -> !m.equals(source)).findFirst().orElseThrow();
            Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
            Map<String, List<String>> results = new ConcurrentHashMap<>();
            Map<String, AtomicInteger> batchClaims = new ConcurrentHashMap<>();
            AtomicInteger progress = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(6);
            int moved;
            try (Idempotency engine = Idempotency.builder(store).waitForInProgress(Duration.ofSeconds(30)).build();
                    RedisAdmin from = TestRedisCluster.admin(source);
                    RedisAdmin to = TestRedisCluster.admin(target)) {
                // the importing node has no scripts: calls redirected to it (ASK) meet NOSCRIPT
                to.call("SCRIPT", "FLUSH");
                IdempotentOperation<String> pay = engine.operation("pay", String.class);
                List<Future<?>> traffic = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    traffic.add(pool.submit(() -> {
                        for (int i = 0; !stop.get(); i++) {
                            String key = tag + "-" + i;
                            String result = pay.execute(key, "h", () -> {
                                runs.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                                return "paid " + key;
                            });
                            results.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(result);
                            progress.incrementAndGet();
                        }
                        return null;
                    }));
                }
                for (int t = 0; t < 2; t++) {
                    traffic.add(pool.submit(() -> {
                        for (int b = 0; !stop.get(); b++) {
                            List<AcquireRequest> batch = new ArrayList<>();
                            for (int j = 0; j < 5; j++) {
                                batch.add(new AcquireRequest("batch:" + tag + "-" + b + "-" + j, "h"));
                            }
                            List<AcquireResult> acquired = store.acquireAll(batch, LEASE);
                            for (int j = 0; j < batch.size(); j++) {
                                if (acquired.get(j) instanceof AcquireResult.Acquired owned) {
                                    batchClaims.computeIfAbsent(batch.get(j).key(), k -> new AtomicInteger())
                                            .incrementAndGet();
                                    store.complete(batch.get(j).key(), owned.fencingToken(),
                                            StoredResult.of(bytes("ok")), RETENTION);
                                }
                            }
                        }
                        return null;
                    }));
                }
                TestRedisCluster.eventually("traffic has written keys", 30, () -> progress.get() >= 100);
                moved = migrate(slot, from, to, 2);
                int after = progress.get();
                TestRedisCluster.eventually("traffic goes on after the migration", 30, () -> progress.get() >= after + 100);
                stop.set(true);
                for (Future<?> future : traffic) {
                    try {
                        future.get(60, TimeUnit.SECONDS);
                    } catch (TimeoutException e) {
                        throw new AssertionError("traffic stuck after the migration:\n" + threadDump(), e);
                    }
                }
                assertThat(moved).as("keys moved while traffic ran").isPositive();
                assertThat(TestRedisCluster.masterOf(slot)).isEqualTo(target);
                assertThat((Long) to.call("CLUSTER", "COUNTKEYSINSLOT", slot)).isPositive();
            } finally {
                stop.set(true);
                pool.shutdownNow();
                migrateBack(slot, source);
            }
            assertThat(runs).isNotEmpty();
            assertThat(runs.values()).allSatisfy(count -> assertThat(count).as("runs of one key").hasValue(1));
            assertThat(results).allSatisfy((key, seen) -> assertThat(seen).containsOnly("paid " + key));
            assertThat(batchClaims).isNotEmpty();
            assertThat(batchClaims.values()).allSatisfy(count -> assertThat(count).as("claims of one key").hasValue(1));
        }

        /** Puts the slot back on its first master, whatever state a failed test left it in. */
        private void migrateBack(int slot, String source) {
            String current = TestRedisCluster.masterOf(slot);
            try (RedisAdmin home = TestRedisCluster.admin(source)) {
                for (String master : TestRedisCluster.masters()) {
                    if (!master.equals(source)) {
                        try (RedisAdmin other = TestRedisCluster.admin(master)) {
                            if ((Long) other.call("CLUSTER", "COUNTKEYSINSLOT", slot) > 0 || master.equals(current)) {
                                migrate(slot, other, home, 0);
                            }
                        }
                    }
                }
                if (!TestRedisCluster.masterOf(slot).equals(source)) {
                    assign(slot, home);
                }
            }
            TestRedisCluster.awaitHealthy();
        }
    }

    /**
     * Migrates a slot the way the Redis Cluster manual describes: the target imports, the source migrates, the
     * keys move a few at a time ({@code MIGRATE ... KEYS}), then every master learns the slot's new owner.
     *
     * @return how many keys moved
     */
    @SuppressWarnings("unchecked")
    private static int migrate(int slot, RedisAdmin from, RedisAdmin to, long pauseMillis) {
        to.call("CLUSTER", "SETSLOT", slot, "IMPORTING", from.nodeId());
        from.call("CLUSTER", "SETSLOT", slot, "MIGRATING", to.nodeId());
        int moved = 0;
        while (true) {
            List<Object> keys = (List<Object>) from.call("CLUSTER", "GETKEYSINSLOT", slot, 5);
            if (keys.isEmpty()) {
                break;
            }
            List<Object> command = new ArrayList<>(List.of("MIGRATE", "127.0.0.1", to.port(), "", 0, 5000, "KEYS"));
            command.addAll(keys);
            from.call(command.toArray());
            moved += keys.size();
            TestRedisCluster.sleep(pauseMillis);
        }
        assign(slot, to);
        return moved;
    }

    /** Tells the new owner first, then every other master, that it serves the slot. */
    private static void assign(int slot, RedisAdmin owner) {
        String id = owner.nodeId();
        owner.call("CLUSTER", "SETSLOT", slot, "NODE", id);
        for (String master : TestRedisCluster.masters()) {
            try (RedisAdmin admin = TestRedisCluster.admin(master)) {
                if (!admin.nodeId().equals(id)) {
                    admin.call("CLUSTER", "SETSLOT", slot, "NODE", id);
                }
            }
        }
    }

    @Nested
    @DisplayName("Redis Cluster: a master killed")
    class MasterKilled {

        @Test
        @DisplayName("is replaced by its replica, which has every claim and completion acknowledged with"
                + " replicaAcknowledgement; no work runs twice, and the node rejoins as a replica")
        void killMaster() throws Exception {
            RedisIdempotencyStore durable = RedisIdempotencyStore.builder(client).keyPrefix(prefix)
                    .replicaAcknowledgement(1, Duration.ofSeconds(2)).build();
            RedisIdempotencyStore plain = store();
            String tag = "{kill-" + UUID.randomUUID().toString().substring(0, 8) + "}";
            String master = TestRedisCluster.masterOf(TestRedisCluster.slot(tag));
            URI masterUri = URI.create(master);
            String config;
            long pid;
            String replica;
            try (RedisAdmin admin = TestRedisCluster.admin(master)) {
                pid = Long.parseLong(admin.info("server", "process_id"));
                config = ((List<?>) admin.call("CONFIG", "GET", "dir")).get(1) + "/redis.conf";
                replica = replicaOf(admin);
            }
            try (RedisAdmin successor = TestRedisCluster.admin(replica)) {
                // the killed node, back as its replica, gets its full copy at once
                successor.call("CONFIG", "SET", "repl-diskless-sync-delay", "0");
            }
            assertThat(Path.of(config)).as("the configuration of the node on %s (%s)", master, TestRedisCluster.HOW)
                    .exists();

            // claims and completions through the engine and the store, each acknowledged by the replica
            Set<String> completed = new HashSet<>();
            Map<String, Long> claimed = new HashMap<>();
            AtomicInteger runs = new AtomicInteger();
            try (Idempotency engine = Idempotency.builder(durable).build()) {
                IdempotentOperation<String> pay = engine.operation("pay", String.class);
                for (int i = 0; i < 20; i++) {
                    String key = tag + "-done-" + i;
                    pay.execute(key, "h", () -> {
                        runs.incrementAndGet();
                        return "paid " + key;
                    });
                    completed.add(key);
                }
            }
            List<AcquireRequest> batch = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String key = tag + "-claimed-" + i;
                claimed.put("pay:" + key, token(durable.acquire("pay:" + key, "h", LEASE)));
                batch.add(new AcquireRequest("pay:" + tag + "-batch-" + i, "h"));
            }
            List<AcquireResult> batchResults = durable.acquireAll(batch, LEASE);
            for (int i = 0; i < batch.size(); i++) {
                claimed.put(batch.get(i).key(), token(batchResults.get(i)));
            }

            boolean restarted = false;
            try {
                ProcessHandle process = ProcessHandle.of(pid).orElseThrow(
                        () -> new AssertionError("no process " + pid + " for the node on " + master));
                process.destroyForcibly();
                process.onExit().get(10, TimeUnit.SECONDS);

                try (RedisAdmin promoted = TestRedisCluster.admin(replica)) {
                    TestRedisCluster.eventually(replica + " promoted to master", 30,
                            () -> "master".equals(promoted.info("replication", "role"))
                                    && "ok".equals(promoted.clusterInfo("cluster_state")));
                }
                // every acknowledged claim and completion is on the promoted replica: no key can be taken again
                TestRedisCluster.eventually("the client reaches the promoted replica", 30, () -> {
                    try {
                        plain.find("pay:" + completed.iterator().next());
                        return true;
                    } catch (IdempotencyStoreException e) {
                        return false;
                    }
                });
                for (String key : completed) {
                    assertThat(plain.find("pay:" + key)).as(key).get().extracting(IdempotencyRecord::status)
                            .isEqualTo(RecordStatus.COMPLETED);
                }
                for (Map.Entry<String, Long> claim : claimed.entrySet()) {
                    IdempotencyRecord record = plain.find(claim.getKey()).orElseThrow(
                            () -> new AssertionError("claim of " + claim.getKey() + " lost in the failover"));
                    assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(record.fencingToken()).isEqualTo(claim.getValue());
                }
                try (Idempotency engine = Idempotency.builder(plain).build()) {
                    IdempotentOperation<String> pay = engine.operation("pay", String.class);
                    for (String key : completed) {
                        assertThat(pay.execute(key, "h", () -> "ran twice")).isEqualTo("paid " + key);
                    }
                    String claimedKey = claimed.keySet().iterator().next().substring("pay:".length());
                    assertThatThrownBy(() -> pay.execute(claimedKey, "h", () -> "ran twice"))
                            .isInstanceOf(IdempotencyInProgressException.class);
                }
                assertThat(runs).hasValue(20);

                // with no replica left, an acknowledged write is impossible: a fault, not a silent risk
                String someClaim = claimed.keySet().iterator().next();
                assertThatThrownBy(() -> durable.extend(someClaim, claimed.get(someClaim), LEASE))
                        .isInstanceOf(IdempotencyStoreException.class)
                        .hasMessageContaining("0 of the 1 replicas");

                // the killed node comes back as the replica of its successor
                start(config);
                restarted = true;
                TestRedisCluster.eventually(master + " answers", 30,
                        () -> TestRedis.answersPing(masterUri.getHost(), masterUri.getPort()));
                try (RedisAdmin back = TestRedisCluster.admin(master)) {
                    TestRedisCluster.eventually(master + " back as a replica", 30,
                            () -> "slave".equals(back.info("replication", "role"))
                                    && "up".equals(back.info("replication", "master_link_status")));
                }
                for (Map.Entry<String, Long> claim : claimed.entrySet()) {
                    assertThat(durable.complete(claim.getKey(), claim.getValue(), StoredResult.of(bytes("late")),
                            RETENTION)).as(claim.getKey()).isTrue();
                }
            } finally {
                if (!restarted && !TestRedis.answersPing(masterUri.getHost(), masterUri.getPort())) {
                    start(config);
                }
                takeBack(master);
            }
        }

        /** The address of a master's replica. */
        private String replicaOf(RedisAdmin master) {
            String line = ((List<?>) master.call("CLUSTER", "REPLICAS", master.nodeId())).get(0).toString();
            String address = line.split(" ")[1];
            return "redis://" + address.substring(0, address.indexOf('@'));
        }

        private void start(String config) throws Exception {
            Process process = new ProcessBuilder("redis-server", config)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            assertThat(process.waitFor(10, TimeUnit.SECONDS)).as("redis-server %s daemonizes", config).isTrue();
            assertThat(process.exitValue()).as("redis-server %s", config).isZero();
        }

        /** Makes the node the master of its slots again ({@code CLUSTER FAILOVER}, graceful), as it was. */
        private void takeBack(String node) {
            URI uri = URI.create(node);
            TestRedisCluster.eventually(node + " answers", 30, () -> TestRedis.answersPing(uri.getHost(), uri.getPort()));
            try (RedisAdmin admin = TestRedisCluster.admin(node)) {
                TestRedisCluster.eventually(node + " linked to its master", 30,
                        () -> !"slave".equals(admin.info("replication", "role"))
                                || "up".equals(admin.info("replication", "master_link_status")));
                // a manual failover times out (after 5 s) when the master has not yet learnt that the node is its
                // replica again, just after the restart: asked again until it takes
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
                while ("slave".equals(admin.info("replication", "role"))) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new AssertionError(node + " did not become master again within 45 s (CLUSTER"
                                + " FAILOVER); " + TestRedisCluster.HOW);
                    }
                    admin.call("CLUSTER", "FAILOVER");
                    long attempt = System.nanoTime() + TimeUnit.SECONDS.toNanos(7);
                    while ("slave".equals(admin.info("replication", "role")) && System.nanoTime() - attempt < 0) {
                        TestRedisCluster.sleep(100);
                    }
                }
            }
            TestRedisCluster.awaitHealthy();
        }
    }

    /** The stacks of the threads that ran traffic, for a test that hangs. */
    private static String threadDump() {
        StringBuilder out = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            if (thread.getName().startsWith("pool-")) {
                out.append(thread.getName()).append('\n');
                for (StackTraceElement element : stack) {
                    out.append("    at ").append(element).append('\n');
                }
            }
        });
        return out.toString();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
