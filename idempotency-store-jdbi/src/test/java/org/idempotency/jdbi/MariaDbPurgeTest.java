package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Purging expired rows on MariaDB: only them, in bounded batches, alongside live traffic, skipping locked rows. */
class MariaDbPurgeTest {

    private static final Duration LONG = Duration.ofHours(1);

    private TestTable table;
    private Observed observed;

    @BeforeEach
    void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "purge", 4); // a table per case: exact counts
        observed = new Observed(table);
    }

    @AfterEach
    void dropTable() {
        table.close();
    }

    private String quoted() {
        return table.database.quote(table.name);
    }

    /**
     * Inserts rows that expired a minute ago, half completed, half abandoned in progress (MariaDB's sequence
     * engine numbers them).
     */
    private void insertExpired(String prefix, int count) {
        table.database.admin().useHandle(h -> h.createUpdate("INSERT INTO " + quoted() + " (idempotency_key,"
                + " request_hash, status, fencing_token, created_at, lease_expires_at, expires_at, status_code,"
                + " response)"
                + " SELECT CONCAT(:prefix, g.seq), 'h', IF(g.seq % 2 = 0, 'COMPLETED', 'IN_PROGRESS'),"
                + " NEXTVAL(" + table.database.quote(table.name + "_fencing_seq") + "),"
                + " UTC_TIMESTAMP(6) - INTERVAL 3 MINUTE,"
                + " IF(g.seq % 2 = 0, NULL, UTC_TIMESTAMP(6) - INTERVAL 2 MINUTE),"
                + " UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE, 0, x'01'"
                + " FROM seq_1_to_" + count + " AS g")
                .bind("prefix", prefix).execute());
    }

    private int expiredRows() {
        return table.database.admin().withHandle(h -> h.createQuery("SELECT count(*) FROM " + quoted()
                + " WHERE expires_at <= UTC_TIMESTAMP(6)").mapTo(Integer.class).one());
    }

    @Test
    @DisplayName("deletes exactly the expired rows, in batches of the configured size, while traffic goes on")
    void batches() throws Exception {
        JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(observed.jdbi).database(SqlDatabase.MARIADB)
                .table(table.name).purgeBatchSize(500).build();
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
            assertThat(observed.count("DELETE r")).as("5 full batches of 500, then one of 200").isEqualTo(6);
            assertThat(served.get(60, TimeUnit.SECONDS)).as("traffic calls served meanwhile").isPositive();
        } finally {
            traffic.shutdownNow();
        }
        for (String key : live) {
            assertThat(store.find(key)).as(key).isPresent();
        }
        assertThat(store.purgeExpired()).isZero();
        assertThat(expiredRows()).isZero();
    }

    @Test
    @DisplayName("skips an expired row that another transaction holds, without waiting for it, and deletes it later")
    void skipsLockedRows() {
        JdbiIdempotencyStore store = table.store();
        insertExpired("locked-", 10);
        try (Handle holder = table.database.admin().open()) {
            holder.begin();
            holder.createQuery("SELECT idempotency_key FROM " + quoted() + " WHERE idempotency_key = 'locked-3'"
                    + " FOR UPDATE").mapTo(String.class).one();

            long started = System.nanoTime();
            assertThat(store.purgeExpired()).isEqualTo(9);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).as("no lock wait")
                    .isLessThan(5_000);
            assertThat(expiredRows()).isEqualTo(1);
            holder.rollback();
        }
        assertThat(store.purgeExpired()).isEqualTo(1);
        assertThat(table.rowCount()).isZero();
    }
}
