package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A node whose connection pool is taken keeps renewing the leases of its healthy work, so that work does not lose
 * its lease and run a second time on another node. Node A runs long work with a 1 s lease while its pool is
 * taken; node B, on a pool of its own, keeps trying the same key and must always be told it is in progress.
 */
class SaturatedPoolTest {

    private static final Duration LEASE = Duration.ofSeconds(1);
    /** How long node B keeps trying while node A's pool is taken: several leases. */
    private static final long WORK_MS = 3_000;

    private static TestTable table;
    private final List<AutoCloseable> closing = new ArrayList<>();
    private ExecutorService threads;

    @BeforeAll
    static void createTable() {
        table = TestTable.create("saturated", 2);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @BeforeEach
    void startThreads() {
        threads = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stop() throws Exception {
        threads.shutdownNow();
        for (AutoCloseable resource : closing) {
            resource.close();
        }
    }

    private HikariDataSource pool(String name, int size) {
        HikariDataSource pool = table.database.pool(PostgresDatabase.uniqueApplicationName(name), size);
        closing.add(pool);
        return pool;
    }

    private Idempotency engine(JdbiIdempotencyStore store) {
        Idempotency engine = Idempotency.builder(store).lease(LEASE).purgeInterval(Duration.ZERO).build();
        closing.add(0, engine);
        return engine;
    }

    /** Long work of node A: it runs until the test lets it finish, counting its runs on either node. */
    private static final class LongWork {
        final String key = UUID.randomUUID().toString();
        final AtomicInteger runs = new AtomicInteger();
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch finish = new CountDownLatch(1);

        String run() {
            runs.incrementAndGet();
            started.countDown();
            await(finish);
            return "A";
        }
    }

    /** Node B tries the long work's key every 100 ms for {@link #WORK_MS}; it must never run it. */
    private static void nodeBTries(IdempotentOperation<String> nodeB, LongWork work) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WORK_MS);
        while (System.nanoTime() - end < 0) {
            try {
                nodeB.execute(work.key, "h", () -> {
                    work.runs.incrementAndGet();
                    return "B";
                });
            } catch (IdempotencyInProgressException expected) {
                // node A still owns the key
            }
            sleep(100);
        }
    }

    @Test
    @DisplayName("callers blocked by a stalled transactional completion give their connections back, so renewal gets one")
    void stalledCompletionDoesNotStarveRenewal() throws Exception {
        HikariDataSource poolA = pool("node-a", 4);
        StallingJdbi stalling = new StallingJdbi(poolA);
        JdbiIdempotencyStore storeA = JdbiIdempotencyStore.builder(stalling.jdbi).table(table.name).build();
        Idempotency nodeA = engine(storeA);
        JdbiIdempotencyStore storeB = JdbiIdempotencyStore.builder(Jdbi.create(pool("node-b", 2))).table(table.name)
                .build();
        Idempotency nodeB = engine(storeB);
        LongWork healthy = new LongWork();
        Future<String> healthyRun = threads.submit(() -> nodeA.operation("ship", String.class)
                .execute(healthy.key, "h", healthy::run));
        assertThat(healthy.started.await(30, TimeUnit.SECONDS)).isTrue();

        TransactionalOperation<String> charge = storeA.transactional(nodeA.operation("charge", String.class));
        String stalledKey = UUID.randomUUID().toString();
        Future<String> stalled = threads.submit(() -> charge.execute(stalledKey, "h", handle -> "charged"));
        try {
            stalling.awaitStall();
            Observed.eventually("the stalled execution's lease ended", () -> storeB.find("charge:" + stalledKey)
                    .orElseThrow().leaseExpiresAt().isBefore(Instant.now()));
            List<Future<String>> callers = new ArrayList<>();
            for (int i = 0; i < 3; i++) { // with the stalled transaction, as many as node A's pool has connections
                callers.add(threads.submit(() -> charge.execute(stalledKey, "h", handle -> "again")));
            }

            nodeBTries(nodeB.operation("ship", String.class), healthy);
            healthy.finish.countDown();

            assertThat(healthyRun.get(60, TimeUnit.SECONDS)).isEqualTo("A");
            assertThat(healthy.runs).as("the healthy work ran once: node A kept its lease").hasValue(1);
            for (Future<String> caller : callers) {
                assertThat(caller).failsWithin(Duration.ofSeconds(30)).withThrowableThat()
                        .withCauseInstanceOf(IdempotencyInProgressException.class);
            }
        } finally {
            healthy.finish.countDown();
            stalling.resume();
        }
        assertThat(stalled.get(60, TimeUnit.SECONDS)).isEqualTo("charged");
    }

    @Test
    @DisplayName("renews on a Jdbi of its own while every connection of the main pool is taken")
    void renewalJdbiOfItsOwn() throws Exception {
        JdbiIdempotencyStore storeA = JdbiIdempotencyStore.builder(Jdbi.create(pool("main-a", 2))).table(table.name)
                .renewalJdbi(Jdbi.create(pool("renewal-a", 1))).build();
        Idempotency nodeA = engine(storeA);
        Idempotency nodeB = engine(JdbiIdempotencyStore.builder(Jdbi.create(pool("node-b", 2))).table(table.name)
                .build());
        LongWork healthy = new LongWork();
        Future<String> healthyRun = threads.submit(() -> nodeA.operation("ship", String.class)
                .execute(healthy.key, "h", healthy::run));
        assertThat(healthy.started.await(30, TimeUnit.SECONDS)).isTrue();

        List<Handle> taken = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                taken.add(storeA.jdbi().open());
            }
            nodeBTries(nodeB.operation("ship", String.class), healthy);
        } finally {
            taken.forEach(Handle::close);
            healthy.finish.countDown();
        }
        assertThat(healthyRun.get(60, TimeUnit.SECONDS)).isEqualTo("A");
        assertThat(healthy.runs).as("node A kept its lease while its main pool was taken").hasValue(1);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
