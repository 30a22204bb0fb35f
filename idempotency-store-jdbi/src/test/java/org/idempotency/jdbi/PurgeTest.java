package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.core.Idempotency;
import org.idempotency.core.PurgeScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Purging expired rows: only them, in bounded batches, alongside live traffic; scheduled, and stoppable. */
class PurgeTest {

    private static final Duration LONG = Duration.ofHours(1);

    private TestTable table;
    private Observed observed;

    @BeforeEach
    void createTable() {
        table = TestTable.create("purge", 6); // a table per case: exact counts
        observed = new Observed(table);
    }

    @AfterEach
    void dropTable() {
        table.close();
    }

    /** Inserts rows that expired a minute ago, half completed, half abandoned in progress. */
    private void insertExpired(String prefix, int count) {
        table.database.admin().useHandle(h -> h.createUpdate("INSERT INTO \"" + table.name + "\" (idempotency_key,"
                + " request_hash, status, fencing_token, lease_expires_at, expires_at, status_code, response)"
                + " SELECT :prefix || g, 'h', CASE WHEN g % 2 = 0 THEN 'COMPLETED' ELSE 'IN_PROGRESS' END,"
                + " nextval('" + table.name + "_fencing_seq'),"
                + " CASE WHEN g % 2 = 0 THEN NULL ELSE statement_timestamp() - interval '2 minutes' END,"
                + " statement_timestamp() - interval '1 minute', 0, decode('01', 'hex')"
                + " FROM generate_series(1, :count) AS g")
                .bind("prefix", prefix).bind("count", count).execute());
    }

    @Test
    @DisplayName("deletes exactly the expired rows, in batches of the configured size, while traffic goes on")
    void batches() throws Exception {
        JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(observed.jdbi).table(table.name)
                .purgeBatchSize(500).build();
        List<String> live = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            String key = "live-" + UUID.randomUUID();
            long token = ((AcquireResult.Acquired) store.acquire(key, "h", LONG)).fencingToken();
            if (i % 2 == 0) {
                store.complete(key, token, StoredResult.of(new byte[] {1}), LONG);
            }
            live.add(key);
        }
        insertExpired("expired-", 2_700);
        ExecutorService traffic = Executors.newSingleThreadExecutor();
        AtomicBoolean purging = new AtomicBoolean(true);
        try {
            Future<Integer> served = traffic.submit(() -> {
                int calls = 0;
                while (purging.get() || calls == 0) {
                    String key = "traffic-" + UUID.randomUUID();
                    long token = ((AcquireResult.Acquired) store.acquire(key, "h", LONG)).fencingToken();
                    assertThat(store.complete(key, token, StoredResult.of(new byte[] {2}), LONG)).isTrue();
                    calls++;
                }
                return calls;
            });
            observed.reset();

            long purged = store.purgeExpired();
            purging.set(false);

            assertThat(purged).isEqualTo(2_700);
            assertThat(observed.count("DELETE FROM")).as("5 full batches of 500, then one of 200").isEqualTo(6);
            assertThat(served.get(60, TimeUnit.SECONDS)).as("traffic calls served meanwhile").isPositive();
        } finally {
            traffic.shutdownNow();
        }
        for (String key : live) {
            assertThat(store.find(key)).as(key).isPresent();
        }
        assertThat(store.purgeExpired()).isZero();
        assertThat(table.database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery(
                "SELECT count(*) FROM \"" + table.name + "\" WHERE expires_at <= now()")
                .mapTo(Integer.class).one())).isZero();
    }

    @Test
    @DisplayName("the engine purges at its interval on a thread of its own, which ends when it is closed")
    void scheduledByEngine() {
        JdbiIdempotencyStore store = table.store();
        Set<Thread> before = purgeThreads();
        Idempotency engine = Idempotency.builder(store).purgeInterval(Duration.ofMillis(100)).build();
        insertExpired("scheduled-", 40);

        Observed.eventually("the engine purged the expired rows", () -> table.rowCount() == 0);
        assertThat(purgeThreads()).as("a purge thread of the engine's own").hasSizeGreaterThan(before.size());
        engine.close();

        Observed.eventually("the engine's purge thread ended", () -> before.containsAll(purgeThreads()));
        insertExpired("after-close-", 10);
        assertThat(table.rowCount()).isEqualTo(10);
    }

    private static Set<Thread> purgeThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("idempotency-purge") && t.isAlive())
                .collect(Collectors.toSet());
    }

    @Test
    @DisplayName("a purge scheduler of its own purges, and its thread ends when it is closed")
    void ownScheduler() {
        JdbiIdempotencyStore store = table.store();
        String key = "kept-" + UUID.randomUUID();
        store.acquire(key, "h", LONG);
        insertExpired("own-", 25);

        Set<Thread> before = purgeThreads();
        PurgeScheduler scheduler = PurgeScheduler.start(store, Duration.ofMillis(50));
        Observed.eventually("the scheduler purged the expired rows", () -> table.rowCount() == 1);
        scheduler.close();

        Observed.eventually("the purge thread ended", () -> before.containsAll(purgeThreads()));
        insertExpired("after-", 5);
        assertThat(scheduler.purgeNow()).as("a closed scheduler purges nothing").isZero();
        assertThat(table.rowCount()).isEqualTo(6);
        assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
    }
}
