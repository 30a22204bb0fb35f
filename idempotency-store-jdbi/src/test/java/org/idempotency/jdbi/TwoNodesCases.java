package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.testkit.FaultInjectingStore;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two application nodes (two Jdbi instances on two pools, as two processes would have) share one table and
 * race on the same keys; on each database ({@link TwoNodesTest}, {@link MariaDbTwoNodesTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TwoNodesCases {

    /** The result of the cases: which node's run produced it, and its business row. */
    public record Receipt(String node, long rowId) {
    }

    private TestTable table;
    private BusinessTable orders;
    private final List<Node> nodes = new ArrayList<>();

    /** The database the cases run on. */
    abstract TestDatabase database();

    @BeforeAll
    void createTables() {
        table = TestTable.create(database(), "two_nodes", 4);
        orders = new BusinessTable(database(), "two_nodes_orders");
    }

    @AfterAll
    void dropTables() {
        orders.close();
        table.close();
    }

    @AfterEach
    void stopNodes() {
        nodes.forEach(Node::close);
        nodes.clear();
    }

    /** One application node: its own pool, Jdbi, store and engine. */
    private final class Node implements AutoCloseable {
        final String name;
        final HikariDataSource pool;
        final JdbiIdempotencyStore store;
        final Idempotency engine;

        Node(String name, boolean stalls, UnaryOperator<Idempotency.Builder> configure) {
            this.name = name;
            this.pool = table.database.pool(TestDatabase.uniqueApplicationName(name), 6);
            this.store = JdbiIdempotencyStore.builder(Jdbi.create(pool)).database(database().kind()).table(table.name)
                    .build();
            IdempotencyStore engineStore = stalls
                    ? FaultInjectingStore.wrap(store).failAlways(FaultInjectingStore.Operation.EXTEND)
                    : store;
            this.engine = configure.apply(Idempotency.builder(engineStore).purgeInterval(Duration.ZERO)).build();
            nodes.add(this);
        }

        TransactionalOperation<Receipt> transactional() {
            return store.transactional(engine.operation("order", Receipt.class));
        }

        @Override
        public void close() {
            engine.close();
            pool.close();
        }
    }

    private static List<String> keys(int count) {
        String prefix = "node-race-" + UUID.randomUUID() + "-";
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            keys.add(prefix + i);
        }
        return keys;
    }

    private interface Call {
        void run(Node node, String key) throws Exception;
    }

    /** Runs {@code threadsPerNode} threads on each node, each walking all keys from its own offset. */
    private void race(List<String> keys, int threadsPerNode, Call call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threadsPerNode * nodes.size());
        List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            int thread = 0;
            for (Node node : nodes) {
                for (int t = 0; t < threadsPerNode; t++) {
                    int offset = thread++ * 7;
                    futures.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < keys.size(); i++) {
                            try {
                                call.run(node, keys.get((i + offset) % keys.size()));
                            } catch (Throwable e) {
                                unexpected.add(e);
                            }
                        }
                        return null;
                    }));
                }
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(unexpected).isEmpty();
    }

    @Test
    @DisplayName("execute on both nodes: every key's work runs exactly once, and every caller gets its result")
    void executeOnce() throws Exception {
        new Node("a", false, b -> b);
        new Node("b", false, b -> b);
        List<String> keys = keys(150);
        Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
        Map<String, List<String>> results = new ConcurrentHashMap<>();

        race(keys, 3, (node, key) -> {
            IdempotentOperation<String> op = node.engine.operation("plain", String.class);
            try {
                String result = op.execute(key, "h", () -> {
                    runs.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                    return node.name + ":" + key;
                });
                results.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>())).add(result);
            } catch (IdempotencyInProgressException runningElsewhere) {
                // allowed: the other node holds the key right now
            }
        });

        assertThat(runs).hasSize(keys.size());
        assertThat(runs.values()).allSatisfy(count -> assertThat(count).hasValue(1));
        assertThat(results.values()).allSatisfy(list -> assertThat(list).containsOnly(list.get(0)));
    }

    @Test
    @DisplayName("transactional on both nodes: exactly one business row per key")
    void transactionalOnce() throws Exception {
        Node a = new Node("a", false, b -> b);
        Node b = new Node("b", false, x -> x);
        Map<Node, TransactionalOperation<Receipt>> operations = Map.of(a, a.transactional(), b, b.transactional());
        List<String> keys = keys(100);
        Map<String, List<Receipt>> results = new ConcurrentHashMap<>();

        race(keys, 3, (node, key) -> {
            try {
                Receipt receipt = operations.get(node).execute(key, "h",
                        h -> new Receipt(node.name, orders.insert(h, key, node.name)));
                results.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>())).add(receipt);
            } catch (IdempotencyInProgressException runningElsewhere) {
                // allowed
            }
        });

        for (String key : keys) {
            assertThat(orders.rows(key)).as(key).isEqualTo(1);
            assertThat(results.get(key)).as(key).containsOnly(results.get(key).get(0));
            assertThat(results.get(key).get(0).node()).isEqualTo(orders.node(key));
        }
    }

    @Test
    @DisplayName("a stalled node's late completion rolls back, and the node that took over commits")
    void stalledNodeRollsBack() throws Exception {
        Node stalled = new Node("stalled", true, x -> x.lease(Duration.ofMillis(400)));
        Node healthy = new Node("healthy", false, x -> x);
        String key = keys(1).get(0);
        CountDownLatch inserted = new CountDownLatch(1);
        CountDownLatch overtaken = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Receipt> late = pool.submit(() -> stalled.transactional().execute(key, "h", h -> {
                long row = orders.insert(h, key, "stalled");
                inserted.countDown();
                assertThat(overtaken.await(60, TimeUnit.SECONDS)).isTrue();
                return new Receipt("stalled", row);
            }));
            assertThat(inserted.await(30, TimeUnit.SECONDS)).isTrue();
            Receipt[] winner = new Receipt[1];
            Observed.eventually("the healthy node takes the expired lease over and commits", () -> {
                try {
                    winner[0] = healthy.transactional().execute(key, "h",
                            h -> new Receipt("healthy", orders.insert(h, key, "healthy")));
                    return true;
                } catch (IdempotencyInProgressException stillLive) {
                    return false;
                }
            });
            overtaken.countDown();

            assertThat(late).failsWithin(Duration.ofSeconds(30)).withThrowableOfType(
                    java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(IdempotencyLeaseLostException.class);
            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(orders.node(key)).isEqualTo("healthy");
            assertThat(stalled.transactional().execute(key, "h", h -> new Receipt("again", -1)))
                    .isEqualTo(winner[0]);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @DisplayName("leases expiring mid-work on both nodes, over and over: still exactly one business row per key")
    void leasesExpireMidWork() throws Exception {
        Duration lease = Duration.ofMillis(300);
        Node a = new Node("a", true, x -> x.lease(lease));
        Node b = new Node("b", true, x -> x.lease(lease));
        Map<Node, TransactionalOperation<Receipt>> operations = Map.of(a, a.transactional(), b, b.transactional());
        List<String> keys = keys(12);
        Map<String, Receipt> done = new ConcurrentHashMap<>();
        AtomicInteger leasesLost = new AtomicInteger();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);

        race(keys, 3, (node, key) -> {
            while (!done.containsKey(key) && System.nanoTime() - deadline < 0) {
                try {
                    Receipt receipt = operations.get(node).execute(key, "h", h -> {
                        long row = orders.insert(h, key, node.name);
                        Thread.sleep(ThreadLocalRandom.current().nextLong(lease.toMillis() * 2)); // often too long
                        return new Receipt(node.name, row);
                    });
                    Receipt first = done.putIfAbsent(key, receipt);
                    assertThat(first == null ? receipt : first).isEqualTo(receipt);
                } catch (IdempotencyInProgressException runningElsewhere) {
                    Thread.sleep(20);
                } catch (IdempotencyLeaseLostException overtaken) {
                    leasesLost.incrementAndGet();
                }
            }
        });

        assertThat(done).as("every key completed (%s leases were lost on the way)", leasesLost).hasSize(keys.size());
        for (String key : keys) {
            assertThat(orders.rows(key)).as(key).isEqualTo(1);
            assertThat(done.get(key).node()).isEqualTo(orders.node(key));
            assertThat(a.store.find("order:" + key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }
}
