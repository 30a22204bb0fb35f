package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.core.Idempotency;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * No statement of the store waits long for a row lock: a transaction that stalls while it holds a record's lock
 * (a transactional completion between its completion statement and its commit) makes an acquire answer that the
 * key is in progress, and the other statements fail, after a short, bounded wait.
 */
class LockBoundsTest {

    private static final Duration LEASE = Duration.ofMinutes(1);
    /**
     * Ten times the store's default lock bound (200 ms), for a busy machine; the locks in these tests are held until
     * they end, so a store without a bound would wait for ever.
     */
    private static final long PROMPTLY_MS = 2_000;

    private static TestTable table;
    private JdbiIdempotencyStore store;
    private ExecutorService pool;

    @BeforeAll
    static void createTable() {
        table = TestTable.create("lock_bounds", 6);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @BeforeEach
    void createStore() {
        store = table.store();
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stopThreads() {
        pool.shutdownNow();
    }

    private static String newKey() {
        return "lock-bounds:" + UUID.randomUUID();
    }

    private static String quoted() {
        return "\"" + table.name + "\"";
    }

    /** Inserts (committed) an in-progress row whose lease and visibility end at the given SQL instants. */
    private static long insertInProgress(String key, String leaseEnd, String visibleUntil) {
        return table.database.admin().withHandle(h -> h.createQuery("INSERT INTO " + quoted() + " (idempotency_key,"
                + " request_hash, status, fencing_token, lease_expires_at, expires_at) VALUES (:k, 'h', 'IN_PROGRESS',"
                + " nextval('" + table.name + "_fencing_seq'), " + leaseEnd + ", " + visibleUntil + ")"
                + " RETURNING fencing_token").bind("k", key).mapTo(Long.class).one());
    }

    /** Completes the row in the blocker's open transaction, as a stalled transactional completion does. */
    private static void completeWithoutCommit(Blocker blocker, String key) {
        blocker.handle.createUpdate("UPDATE " + quoted() + " SET status = 'COMPLETED', lease_expires_at = NULL,"
                + " expires_at = statement_timestamp() + interval '1 hour', status_code = 0,"
                + " response = '\\x01' WHERE idempotency_key = :k").bind("k", key).execute();
    }

    private static <T> T promptly(Future<T> call) throws Exception {
        long start = System.nanoTime();
        T result = call.get(PROMPTLY_MS * 4, TimeUnit.MILLISECONDS);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(PROMPTLY_MS);
        return result;
    }

    @Nested
    @DisplayName("an acquire")
    class Acquire {

        @Test
        @DisplayName("of a key whose expired lease is locked by a stalled completion answers 'in progress', without waiting for it")
        void lockedExpiredLease() throws Exception {
            String key = newKey();
            long token = insertInProgress(key, "statement_timestamp() - interval '1 second'",
                    "statement_timestamp() + interval '1 minute'");
            try (Blocker blocker = new Blocker(table.database)) {
                completeWithoutCommit(blocker, key);

                AcquireResult result = promptly(pool.submit(() -> store.acquire(key, "h", LEASE)));

                assertThat(result).isInstanceOfSatisfying(AcquireResult.Existing.class, existing -> {
                    assertThat(existing.record().status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(existing.record().fencingToken()).isEqualTo(token);
                });
                blocker.commit();
            }
            assertThat(store.acquire(key, "h", LEASE)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                    existing -> assertThat(existing.record().status()).isEqualTo(RecordStatus.COMPLETED));
        }

        @Test
        @DisplayName("of a key whose record expired while a stalled completion locks it answers 'in progress' too")
        void lockedExpiredRecord() throws Exception {
            String key = newKey();
            long token = insertInProgress(key, "statement_timestamp() - interval '2 seconds'",
                    "statement_timestamp() - interval '1 second'");
            try (Blocker blocker = new Blocker(table.database)) {
                completeWithoutCommit(blocker, key);

                AcquireResult result = promptly(pool.submit(() -> store.acquire(key, null, LEASE)));

                assertThat(result).isInstanceOfSatisfying(AcquireResult.Existing.class, existing -> {
                    IdempotencyRecord record = existing.record();
                    assertThat(record.status()).isEqualTo(RecordStatus.IN_PROGRESS);
                    assertThat(record.fencingToken()).isEqualTo(token);
                    assertThat(record.requestHash()).as("whatever the pending transaction writes").isNull();
                });
                blocker.rollback();
            }
            assertThat(store.acquire(key, "h", LEASE)).isInstanceOfSatisfying(AcquireResult.Acquired.class,
                    acquired -> assertThat(acquired.fencingToken()).isGreaterThan(token));
        }

        @Test
        @DisplayName("of a batch claims the free keys and answers 'in progress' for the locked one")
        void lockedInABatch() throws Exception {
            String locked = newKey();
            String free = newKey();
            insertInProgress(locked, "statement_timestamp() - interval '1 second'",
                    "statement_timestamp() + interval '1 minute'");
            try (Blocker blocker = new Blocker(table.database)) {
                completeWithoutCommit(blocker, locked);

                List<AcquireResult> results = promptly(pool.submit(() -> store.acquireAll(
                        List.of(new AcquireRequest(free, "h"), new AcquireRequest(locked, "h")), LEASE)));

                assertThat(results.get(0)).isInstanceOf(AcquireResult.Acquired.class);
                assertThat(results.get(1)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                        existing -> assertThat(existing.record().status()).isEqualTo(RecordStatus.IN_PROGRESS));
            }
        }
    }

    @Nested
    @DisplayName("the owner's statements")
    class OwnerStatements {

        @Test
        @DisplayName("fail after a bounded wait, changing nothing, while another transaction holds the record's lock")
        void bounded() throws Exception {
            String key = newKey();
            long token = ((AcquireResult.Acquired) store.acquire(key, "h", LEASE)).fencingToken();
            IdempotencyRecord before = store.find(key).orElseThrow();
            try (Blocker blocker = new Blocker(table.database)) {
                blocker.handle.createQuery("SELECT 1 FROM " + quoted() + " WHERE idempotency_key = :k FOR UPDATE")
                        .bind("k", key).mapTo(Integer.class).one();

                for (Callable<Boolean> call : List.<Callable<Boolean>>of(
                        () -> store.extend(key, token, LEASE),
                        () -> store.complete(key, token, StoredResult.of(new byte[] {1}), LEASE),
                        () -> store.fail(key, token, new StoredFailure("E", null), LEASE),
                        () -> store.release(key, token))) {
                    Future<Boolean> outcome = pool.submit(call);
                    assertThatThrownBy(() -> promptly(outcome)).hasCauseInstanceOf(IdempotencyStoreException.class)
                            .cause().hasMessageContaining("lock");
                }
            }
            assertThat(store.find(key)).contains(before);
            assertThat(store.extend(key, token, LEASE)).isTrue();
        }
    }

    @Nested
    @DisplayName("a transactional completion that stalls before its commit")
    class StalledCompletion {

        @Test
        @DisplayName("leaves other callers of its key an 'in progress' answer, promptly, and its result once it commits")
        void callersAnswered() throws Exception {
            StallingJdbi stalling = new StallingJdbi(table.pool);
            JdbiIdempotencyStore stallingStore = JdbiIdempotencyStore.builder(stalling.jdbi).table(table.name).build();
            try (Idempotency node = Idempotency.builder(stallingStore).lease(Duration.ofSeconds(1)).build()) {
                TransactionalOperation<String> charge = stallingStore.transactional(
                        node.operation("charge", String.class));
                String key = UUID.randomUUID().toString();
                Future<String> stalled = pool.submit(() -> charge.execute(key, "h", handle -> "charged"));
                stalling.awaitStall();
                Observed.eventually("the stalled execution's lease ended", () -> store.find("charge:" + key)
                        .orElseThrow().leaseExpiresAt().isBefore(Instant.now()));

                Future<String> caller = pool.submit(() -> charge.execute(key, "h", handle -> "charged twice"));
                assertThatThrownBy(() -> promptly(caller)).hasCauseInstanceOf(IdempotencyInProgressException.class);

                stalling.resume();
                assertThat(stalled.get(30, TimeUnit.SECONDS)).isEqualTo("charged");
                assertThat(charge.execute(key, "h", handle -> "charged twice")).isEqualTo("charged");
            }
        }
    }

    @Test
    @DisplayName("are set for the store's own statements only: the connection's lock_timeout is unchanged afterwards")
    void boundStaysInTheStatement() throws Exception {
        try (HikariDataSource single = table.database.pool(
                PostgresDatabase.uniqueApplicationName("one-connection"), 1)) {
            Jdbi jdbi = Jdbi.create(single);
            JdbiIdempotencyStore onOne = JdbiIdempotencyStore.builder(jdbi).table(table.name)
                    .lockTimeout(Duration.ofMillis(1234)).build();
            String before = jdbi.withHandle(h -> h.createQuery("SHOW lock_timeout").mapTo(String.class).one());
            String key = newKey();
            long token = ((AcquireResult.Acquired) onOne.acquire(key, "h", LEASE)).fencingToken();
            assertThat(onOne.extendAll(List.of(new OwnedKey(key, token)), LEASE))
                    .containsExactly(true);
            assertThat(onOne.complete(key, token, StoredResult.of(new byte[0]), LEASE)).isTrue();
            try (Idempotency idempotency = Idempotency.builder(onOne).build()) {
                onOne.transactional(idempotency.operation("bound", String.class))
                        .execute(UUID.randomUUID().toString(), "h", handle -> "done");
            }

            String after = jdbi.withHandle(h -> h.createQuery("SHOW lock_timeout").mapTo(String.class).one());
            assertThat(after).isEqualTo(before).isNotEqualTo("1234ms");
        }
    }

    @Test
    @DisplayName("creating a schema that exists takes no lock that waits for the table's writers")
    void createSchemaWhileWritersRun() throws Exception {
        try (Blocker blocker = new Blocker(table.database)) {
            blocker.handle.createUpdate("INSERT INTO " + quoted() + " (idempotency_key, status, fencing_token,"
                    + " lease_expires_at, expires_at) VALUES (:k, 'IN_PROGRESS', 1, now(), now())")
                    .bind("k", newKey()).execute();

            promptly(pool.submit(() -> {
                store.createSchema();
                return null;
            }));
        }
    }
}
