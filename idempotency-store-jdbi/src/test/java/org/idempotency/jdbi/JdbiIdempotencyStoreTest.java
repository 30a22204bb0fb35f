package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.jdbi.internal.PostgresDialect;
import org.idempotency.jdbi.internal.TableName;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.HashPrefixSqlParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** What the PostgreSQL store guarantees beyond the kit's contract: statements, locks, races, faults, schema. */
class JdbiIdempotencyStoreTest {

    private static final Duration LEASE = Duration.ofMinutes(1);
    private static final Duration RETENTION = Duration.ofHours(1);

    private static TestTable table;
    private Observed observed;
    private JdbiIdempotencyStore store;
    private ExecutorService pool;

    @BeforeAll
    static void createTable() {
        table = TestTable.create("store", 6);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @BeforeEach
    void createStore() {
        observed = new Observed(table);
        // the races below hold row locks until the test lets go, which can take a while on a loaded machine
        store = JdbiIdempotencyStore.builder(observed.jdbi).table(table.name).lockTimeout(Duration.ofMinutes(1))
                .build();
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stopThreads() {
        pool.shutdownNow();
    }

    private static String newKey() {
        return "store-test:" + UUID.randomUUID();
    }

    private String quoted() {
        return "\"" + table.name + "\"";
    }

    private long acquireFresh(String key) {
        AcquireResult result = store.acquire(key, "h", LEASE);
        assertThat(result).isInstanceOf(AcquireResult.Acquired.class);
        return ((AcquireResult.Acquired) result).fencingToken();
    }

    @Nested
    @DisplayName("statements")
    class Statements {

        @Test
        @DisplayName("acquire, complete, replay and find are one statement each, on a handle of their own")
        void oneStatementEach() {
            String key = newKey();
            observed.reset();

            long token = acquireFresh(key);
            assertThat(observed.statements).hasSize(1);
            assertThat(store.complete(key, token, StoredResult.of(new byte[] {1}), RETENTION)).isTrue();
            assertThat(observed.statements).hasSize(2);
            assertThat(store.acquire(key, "h", LEASE)).isInstanceOf(AcquireResult.Existing.class);
            assertThat(observed.statements).hasSize(3);
            assertThat(store.find(key)).isPresent();

            assertThat(observed.statements).hasSize(4);
            assertThat(observed.handles).hasValue(4);
        }

        @Test
        @DisplayName("a takeover of an expired lease is the same single statement")
        void takeoverInOneStatement() {
            String key = newKey();
            long first = table.database.admin().withHandle(h -> insertInProgress(h, key,
                    "statement_timestamp() - interval '1 second'"));
            observed.reset();

            AcquireResult result = store.acquire(key, "h", LEASE);

            assertThat(result).isInstanceOfSatisfying(AcquireResult.Acquired.class, acquired -> {
                assertThat(acquired.takeover()).isTrue();
                assertThat(acquired.fencingToken()).isGreaterThan(first);
            });
            assertThat(observed.statements).hasSize(1);
        }

        @Test
        @DisplayName("a replay neither writes nor locks the row: it answers while another transaction holds the row lock")
        void replayTakesNoLock() throws Exception {
            String key = newKey();
            long token = acquireFresh(key);
            store.complete(key, token, StoredResult.of(new byte[] {7}), RETENTION);
            String xmin = table.database.admin().withHandle(h -> h.createQuery("SELECT xmin::text FROM " + quoted()
                    + " WHERE idempotency_key = :k").bind("k", key).mapTo(String.class).one());

            try (Blocker blocker = new Blocker(table.database)) {
                blocker.handle.createQuery("SELECT 1 FROM " + quoted() + " WHERE idempotency_key = :k FOR UPDATE")
                        .bind("k", key).mapTo(Integer.class).one();

                Future<AcquireResult> replay = pool.submit(() -> store.acquire(key, "h", LEASE));

                assertThat(replay.get(20, TimeUnit.SECONDS)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                        existing -> assertThat(existing.record().result()).isEqualTo(StoredResult.of(new byte[] {7})));
            }
            assertThat(table.database.admin().<String, RuntimeException>withHandle(h -> h.createQuery("SELECT xmin::text FROM " + quoted()
                    + " WHERE idempotency_key = :k").bind("k", key).mapTo(String.class).one())).isEqualTo(xmin);
        }

        @Test
        @DisplayName("a live lease is answered without a lock as well")
        void liveLeaseTakesNoLock() throws Exception {
            String key = newKey();
            long token = acquireFresh(key);

            try (Blocker blocker = new Blocker(table.database)) {
                blocker.handle.createQuery("SELECT 1 FROM " + quoted() + " WHERE idempotency_key = :k FOR UPDATE")
                        .bind("k", key).mapTo(Integer.class).one();

                Future<AcquireResult> second = pool.submit(() -> store.acquire(key, "h", LEASE));

                assertThat(second.get(20, TimeUnit.SECONDS)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                        existing -> assertThat(existing.record().fencingToken()).isEqualTo(token));
            }
        }

        @Test
        @DisplayName("work whatever SQL parser and template engine the Jdbi is configured with")
        void ownStatementConfiguration() {
            Jdbi odd = Jdbi.create(table.pool)
                    .setSqlParser(new HashPrefixSqlParser())
                    .setTemplateEngine((template, ctx) -> {
                        throw new AssertionError("the store must not template its SQL");
                    });
            JdbiIdempotencyStore oddStore = JdbiIdempotencyStore.builder(odd).table(table.name).build();
            String key = newKey();

            long token = ((AcquireResult.Acquired) oddStore.acquire(key, "h", LEASE)).fencingToken();
            assertThat(oddStore.complete(key, token, StoredResult.of(new byte[] {1}), RETENTION)).isTrue();
            assertThat(oddStore.acquireAll(List.of(new AcquireRequest(key, "h")), LEASE).get(0))
                    .isInstanceOf(AcquireResult.Existing.class);
            assertThat(oddStore.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }

    @Nested
    @DisplayName("under READ COMMITTED races")
    class Races {

        @Test
        @DisplayName("the raw statement returns neither outcome when the key is inserted after its snapshot")
        void rawStatementSeesNeither() throws Exception {
            String key = newKey();
            String sql = new PostgresDialect().statements(TableName.parse(table.name), 60_000).acquire();
            try (Blocker blocker = new Blocker(table.database)) {
                insertInProgress(blocker, key, "statement_timestamp() + interval '1 minute'");
                Future<List<Object>> raw = pool.submit(() -> observed.jdbi.withHandle(h -> h.createQuery(sql)
                        .bind("key", key).bind("request_hash", "h").bind("lease_us", LEASE.toNanos() / 1000)
                        .map((rs, ctx) -> rs.getObject(1)).list()));
                blocker.awaitWaiter(table.applicationName);
                blocker.commit();

                assertThat(raw.get(20, TimeUnit.SECONDS)).as("neither acquired nor existing").isEmpty();
            }
        }

        @Test
        @DisplayName("acquire runs the statement again and returns the record a concurrent insert created")
        void concurrentInsert() throws Exception {
            String key = newKey();
            try (Blocker blocker = new Blocker(table.database)) {
                long token = insertInProgress(blocker, key, "statement_timestamp() + interval '1 minute'");
                observed.reset();
                Future<AcquireResult> contender = pool.submit(() -> store.acquire(key, "h", LEASE));
                blocker.awaitWaiter(table.applicationName);
                blocker.commit();

                assertThat(contender.get(20, TimeUnit.SECONDS)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                        existing -> assertThat(existing.record().fencingToken()).isEqualTo(token));
                assertThat(observed.statements).as("the statement ran twice").hasSize(2);
            }
        }

        @Test
        @DisplayName("acquire returns the new owner's record, not the stale one, when a takeover commits meanwhile")
        void concurrentTakeover() throws Exception {
            String key = newKey();
            table.database.admin().useHandle(h -> insertInProgress(h, key,
                    "statement_timestamp() - interval '1 second'"));
            try (Blocker blocker = new Blocker(table.database)) {
                long newToken = blocker.handle.createQuery("UPDATE " + quoted() + " SET fencing_token = nextval('"
                        + table.name + "_fencing_seq'), attempt = attempt + 1,"
                        + " lease_expires_at = statement_timestamp() + interval '1 minute',"
                        + " expires_at = statement_timestamp() + interval '2 minutes'"
                        + " WHERE idempotency_key = :k RETURNING fencing_token")
                        .bind("k", key).mapTo(Long.class).one();
                observed.reset();
                Future<AcquireResult> contender = pool.submit(() -> store.acquire(key, "h", LEASE));
                blocker.awaitWaiter(table.applicationName);
                blocker.commit();

                assertThat(contender.get(20, TimeUnit.SECONDS)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                        existing -> {
                            assertThat(existing.record().fencingToken()).isEqualTo(newToken);
                            assertThat(existing.record().leaseExpiresAt()).isAfter(java.time.Instant.now());
                        });
                assertThat(observed.statements).hasSize(2);
            }
        }

        @Test
        @DisplayName("acquire creates the record afresh when the concurrent insert rolls back")
        void concurrentInsertRolledBack() throws Exception {
            String key = newKey();
            try (Blocker blocker = new Blocker(table.database)) {
                long abandoned = insertInProgress(blocker, key, "statement_timestamp() + interval '1 minute'");
                Future<AcquireResult> contender = pool.submit(() -> store.acquire(key, "h", LEASE));
                blocker.awaitWaiter(table.applicationName);
                blocker.rollback();

                assertThat(contender.get(20, TimeUnit.SECONDS)).isInstanceOfSatisfying(AcquireResult.Acquired.class,
                        acquired -> assertThat(acquired.fencingToken()).isNotEqualTo(abandoned));
            }
        }

        @Test
        @DisplayName("a batch runs the statement again for the keys a concurrent insert hid, and only for them")
        void batchConcurrentInsert() throws Exception {
            String hidden = newKey();
            String fresh = newKey();
            try (Blocker blocker = new Blocker(table.database)) {
                long token = insertInProgress(blocker, hidden, "statement_timestamp() + interval '1 minute'");
                observed.reset();
                Future<List<AcquireResult>> batch = pool.submit(() -> store.acquireAll(
                        List.of(new AcquireRequest(fresh, "h"), new AcquireRequest(hidden, "h")), LEASE));
                blocker.awaitWaiter(table.applicationName);
                blocker.commit();

                List<AcquireResult> results = batch.get(20, TimeUnit.SECONDS);
                assertThat(results.get(0)).isInstanceOf(AcquireResult.Acquired.class);
                assertThat(results.get(1)).isInstanceOfSatisfying(AcquireResult.Existing.class,
                        existing -> assertThat(existing.record().fencingToken()).isEqualTo(token));
                assertThat(observed.statements).hasSize(2);
            }
        }
    }

    @Nested
    @DisplayName("fencing tokens")
    class Tokens {

        @Test
        @DisplayName("are unique across keys and keep growing for a key after its row was purged")
        void sequence() {
            String key = newKey();
            long first = ((AcquireResult.Acquired) store.acquire(key, "h", Duration.ofMillis(100))).fencingToken();
            long other = acquireFresh(newKey());
            Observed.eventually("the record expired", () -> store.find(key).isEmpty());
            store.purgeExpired();
            assertThat(table.database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery("SELECT count(*) FROM " + quoted()
                    + " WHERE idempotency_key = :k").bind("k", key).mapTo(Integer.class).one())).isZero();

            long again = acquireFresh(key);

            assertThat(other).isNotEqualTo(first);
            assertThat(again).isGreaterThan(first).isGreaterThan(other);
        }

        @Test
        @DisplayName("after a release come from replacing the expired row, which purging removes later")
        void releaseExpiresTheRow() {
            String key = newKey();
            long released = acquireFresh(key);
            assertThat(store.release(key, released)).isTrue();

            assertThat(store.find(key)).isEmpty();
            assertThat(store.release(key, released)).isFalse();
            assertThat(table.database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery(
                    "SELECT count(*) FROM " + quoted() + " WHERE idempotency_key = :k AND expires_at <= now()")
                    .bind("k", key).mapTo(Integer.class).one())).as("the expired row, until purged").isEqualTo(1);

            AcquireResult again = store.acquire(key, "other", LEASE);

            assertThat(again).isInstanceOfSatisfying(AcquireResult.Acquired.class, acquired -> {
                assertThat(acquired.takeover()).isFalse();
                assertThat(acquired.fencingToken()).isGreaterThan(released);
            });
            assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo("other");
        }

        @Test
        @DisplayName("count the owners of a key in the attempt column")
        void attempts() {
            String key = newKey();
            table.database.admin().useHandle(h -> insertInProgress(h, key, "statement_timestamp() - interval '1 second'"));

            assertThat(((AcquireResult.Acquired) store.acquire(key, "h", LEASE)).takeover()).isTrue();
            table.database.admin().useHandle(h -> h.execute("UPDATE " + quoted() + " SET lease_expires_at ="
                    + " statement_timestamp() - interval '1 second' WHERE idempotency_key = ?", key));
            assertThat(((AcquireResult.Acquired) store.acquire(key, "h", LEASE)).takeover()).isTrue();

            assertThat(table.database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery("SELECT attempt FROM " + quoted()
                    + " WHERE idempotency_key = :k").bind("k", key).mapTo(Integer.class).one())).isEqualTo(3);
        }
    }

    @Nested
    @DisplayName("batch lease renewal")
    class BatchRenewal {

        @Test
        @DisplayName("renews every lease its token owns and answers false for the others, in request order, in one statement")
        void outcomes() {
            String owned = newKey();
            long ownedToken = acquireFresh(owned);
            String stale = newKey();
            long staleToken = acquireFresh(stale);
            String completed = newKey();
            long completedToken = acquireFresh(completed);
            store.complete(completed, completedToken, StoredResult.of(new byte[] {1}), RETENTION);
            String released = newKey();
            long releasedToken = acquireFresh(released);
            store.release(released, releasedToken);
            String expired = newKey();
            long expiredToken = ((AcquireResult.Acquired) store.acquire(expired, "h", Duration.ofMillis(50)))
                    .fencingToken();
            Observed.eventually("the record expired", () -> store.find(expired).isEmpty());
            String second = newKey();
            long secondToken = acquireFresh(second);
            IdempotencyRecord before = store.find(owned).orElseThrow();
            IdempotencyRecord completedBefore = store.find(completed).orElseThrow();
            observed.reset();

            List<Boolean> renewed = store.extendAll(List.of(new OwnedKey(owned, ownedToken),
                    new OwnedKey(stale, staleToken + 1000), new OwnedKey(completed, completedToken),
                    new OwnedKey(released, releasedToken), new OwnedKey(expired, expiredToken),
                    new OwnedKey(newKey(), 1), new OwnedKey(second, secondToken)), LEASE.multipliedBy(3));

            assertThat(renewed).containsExactly(true, false, false, false, false, false, true);
            assertThat(observed.statements).as("one statement").hasSize(1);
            IdempotencyRecord after = store.find(owned).orElseThrow();
            assertThat(after.leaseExpiresAt()).isAfter(before.leaseExpiresAt().plus(LEASE));
            assertThat(after.expiresAt()).isEqualTo(after.leaseExpiresAt().plus(LEASE.multipliedBy(3)));
            assertThat(store.find(second).orElseThrow().leaseExpiresAt()).isEqualTo(after.leaseExpiresAt());
            assertThat(store.find(stale).orElseThrow().leaseExpiresAt()).isBefore(after.leaseExpiresAt());
            assertThat(store.find(completed)).contains(completedBefore);
            assertThat(store.find(released)).isEmpty();
            assertThat(store.find(expired)).isEmpty();
        }

        @Test
        @DisplayName("runs on the renewal Jdbi, and extend does too")
        void renewalJdbi() {
            Observed renewals = new Observed(table);
            JdbiIdempotencyStore split = JdbiIdempotencyStore.builder(observed.jdbi).table(table.name)
                    .renewalJdbi(renewals.jdbi).build();
            String key = newKey();
            long token = ((AcquireResult.Acquired) split.acquire(key, "h", LEASE)).fencingToken();
            observed.reset();

            assertThat(split.extendAll(List.of(new OwnedKey(key, token)), LEASE)).containsExactly(true);
            assertThat(split.extend(key, token, LEASE)).isTrue();

            assertThat(renewals.statements).hasSize(2);
            assertThat(observed.statements).isEmpty();
            assertThat(split.renewalJdbi()).isSameAs(renewals.jdbi);
            assertThat(store.renewalJdbi()).as("without one, the main Jdbi").isSameAs(store.jdbi());
        }

        @Test
        @DisplayName("renews the other keys at once when one row is locked, and asks about that one with a bounded wait")
        void lockedRow() throws Exception {
            JdbiIdempotencyStore bounded = JdbiIdempotencyStore.builder(observed.jdbi).table(table.name)
                    .lockTimeout(Duration.ofMillis(200)).build();
            String free = newKey();
            long freeToken = acquireFresh(free);
            String locked = newKey();
            long lockedToken = acquireFresh(locked);
            IdempotencyRecord freeBefore = store.find(free).orElseThrow();
            IdempotencyRecord lockedBefore = store.find(locked).orElseThrow();
            try (Blocker blocker = new Blocker(table.database)) {
                blocker.handle.createQuery("SELECT 1 FROM " + quoted() + " WHERE idempotency_key = :k FOR UPDATE")
                        .bind("k", locked).mapTo(Integer.class).one();

                Future<List<Boolean>> renewal = pool.submit(() -> bounded.extendAll(List.of(
                        new OwnedKey(locked, lockedToken), new OwnedKey(free, freeToken)), LEASE.multipliedBy(2)));

                assertThatThrownBy(() -> renewal.get(20, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(IdempotencyStoreException.class)
                        .cause().hasMessageContaining("locked by another transaction").hasMessageContaining(locked);
            }
            assertThat(store.find(free).orElseThrow().leaseExpiresAt()).as("renewed meanwhile")
                    .isAfter(freeBefore.leaseExpiresAt());
            assertThat(store.find(locked)).contains(lockedBefore);
        }

        @Test
        @DisplayName("waits for a row that is locked only briefly, and renews it")
        void brieflyLockedRow() throws Exception {
            String key = newKey();
            long token = acquireFresh(key);
            IdempotencyRecord before = store.find(key).orElseThrow();
            try (Blocker blocker = new Blocker(table.database)) {
                blocker.handle.createQuery("SELECT 1 FROM " + quoted() + " WHERE idempotency_key = :k FOR UPDATE")
                        .bind("k", key).mapTo(Integer.class).one();
                Future<List<Boolean>> renewal = pool.submit(() -> store.extendAll(List.of(new OwnedKey(key, token),
                        new OwnedKey(newKey(), 1)), LEASE.multipliedBy(2)));
                blocker.awaitWaiter(table.applicationName);
                blocker.commit();

                assertThat(renewal.get(20, TimeUnit.SECONDS)).containsExactly(true, false);
            }
            assertThat(store.find(key).orElseThrow().leaseExpiresAt()).isAfter(before.leaseExpiresAt());
        }

        @Test
        @DisplayName("of overlapping batches in different orders, running at once, never deadlock and renew every key")
        void overlappingBatches() throws Exception {
            List<OwnedKey> keys = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                String key = newKey();
                keys.add(new OwnedKey(key, acquireFresh(key)));
            }
            List<Future<Integer>> renewers = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int seed = t;
                renewers.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    int renewed = 0;
                    for (int round = 0; round < 30; round++) {
                        List<OwnedKey> batch = new ArrayList<>(keys);
                        Collections.shuffle(batch, random);
                        batch = batch.subList(0, 10 + random.nextInt(20));
                        for (boolean outcome : store.extendAll(batch, LEASE)) {
                            assertThat(outcome).isTrue();
                            renewed++;
                        }
                    }
                    return renewed;
                }));
            }
            for (Future<Integer> renewer : renewers) {
                assertThat(renewer.get(120, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(300);
            }
        }

        @Test
        @DisplayName("refuses a key twice before reaching the database, and answers an empty batch with nothing")
        void input() {
            String key = newKey();
            observed.reset();

            assertThatThrownBy(() -> store.extendAll(List.of(new OwnedKey(key, 1), new OwnedKey(key, 2)), LEASE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("appears twice");
            assertThat(store.extendAll(List.of(), LEASE)).isEmpty();
            assertThat(observed.statements).isEmpty();
        }
    }

    @Nested
    @DisplayName("text")
    class Text {

        @Test
        @DisplayName("keeps any request hash exactly (U+0000, unpaired surrogates), telling apart hashes the driver would merge")
        void awkwardHashes() {
            String key = newKey();
            assertThat(store.acquire(key, "\uD800", LEASE)).isInstanceOf(AcquireResult.Acquired.class);

            IdempotencyRecord held = ((AcquireResult.Existing) store.acquire(key, "?", LEASE)).record();

            assertThat(held.requestHash()).isEqualTo("\uD800");
            assertThat(held.matchesRequest("?")).as("another request").isFalse();
            for (String hash : List.of("\u0000", "a\u0000b", "\uDC00\uD800", "\u0001", "\u0001x", "😀\uDE00", "")) {
                String other = newKey();
                assertThat(store.acquire(other, hash, LEASE)).as(hash).isInstanceOf(AcquireResult.Acquired.class);
                assertThat(store.find(other).orElseThrow().requestHash()).as(hash).isEqualTo(hash);
                assertThat(((AcquireResult.Existing) store.acquire(other, hash, LEASE)).record().requestHash())
                        .isEqualTo(hash);
                List<AcquireResult> batch = store.acquireAll(List.of(new AcquireRequest(other, hash),
                        new AcquireRequest(newKey(), hash)), LEASE);
                assertThat(((AcquireResult.Existing) batch.get(0)).record().requestHash()).isEqualTo(hash);
                assertThat(batch.get(1)).isInstanceOf(AcquireResult.Acquired.class);
            }
        }

        @Test
        @DisplayName("takes over an expired lease only with the same request hash, also for hashes the driver would merge")
        void takeoverComparesExactly() {
            String key = newKey();
            store.acquire(key, "\uD800", Duration.ofMillis(200));
            Observed.eventually("the lease ended", () -> !store.find(key).orElseThrow().leaseExpiresAt()
                    .isAfter(java.time.Instant.now()));

            assertThat(store.acquire(key, "?", LEASE)).as("another request").isInstanceOf(AcquireResult.Existing.class);
            assertThat(store.acquire(key, "\uD800", LEASE)).isInstanceOfSatisfying(AcquireResult.Acquired.class,
                    acquired -> assertThat(acquired.takeover()).isTrue());
        }

        @Test
        @DisplayName("keeps any failure up to its limits exactly: U+0000, unpaired surrogates, 255 and 2,000 characters")
        void awkwardFailures() {
            String type = ("\u0000\uD800x\u0001" + "é").repeat(51);
            String message = ("\uDFFF\u0000" + "m").repeat(666) + "\u0000\u0001";
            assertThat(type).hasSize(StoredFailure.MAX_TYPE_LENGTH);
            assertThat(message).hasSize(StoredFailure.MAX_MESSAGE_LENGTH);
            StoredFailure failure = new StoredFailure(type, message);
            String key = newKey();
            long token = acquireFresh(key);

            assertThat(store.fail(key, token, failure, RETENTION)).isTrue();

            assertThat(store.find(key).orElseThrow().failure()).isEqualTo(failure);
            assertThat(((AcquireResult.Existing) store.acquire(key, "h", LEASE)).record().failure()).isEqualTo(failure);
        }

        @Test
        @DisplayName("records a permanent failure whose message holds U+0000, so the work does not run again")
        void failureWithNulThroughTheEngine() {
            AtomicInteger runs = new AtomicInteger();
            try (Idempotency idempotency = Idempotency.builder(store)
                    .permanentFailure(e -> e instanceof IllegalStateException).build()) {
                IdempotentOperation<String> op = idempotency.operation("nul", String.class);
                String key = UUID.randomUUID().toString();
                Supplier<String> work = () -> {
                    runs.incrementAndGet();
                    throw new IllegalStateException("bad byte \u0000 in \uD800 input");
                };

                assertThatThrownBy(() -> op.execute(key, "h", work)).isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> op.execute(key, "h", work))
                        .isInstanceOfSatisfying(IdempotencyReplayedFailureException.class, e -> {
                            assertThat(e.errorType()).isEqualTo(IllegalStateException.class.getName());
                            assertThat(e.errorMessage()).isEqualTo("bad byte \u0000 in \uD800 input");
                        });
                assertThat(runs).hasValue(1);
            }
        }

        @Test
        @DisplayName("keeps usual text as it is, readable in the table")
        void usualTextAsItIs() {
            String key = newKey();
            long token = ((AcquireResult.Acquired) store.acquire(key, "sha256:0f3c é😀", LEASE)).fencingToken();
            store.fail(key, token, new StoredFailure("com.example.Declined", "card declined: ✗"), RETENTION);

            List<String> row = table.database.admin().withHandle(h -> h.createQuery("SELECT request_hash, error_type,"
                    + " error_message FROM " + quoted() + " WHERE idempotency_key = :k").bind("k", key)
                    .map((rs, ctx) -> List.of(rs.getString(1), rs.getString(2), rs.getString(3))).one());
            assertThat(row).containsExactly("sha256:0f3c é😀", "com.example.Declined", "card declined: ✗");
        }
    }

    @Nested
    @DisplayName("durations")
    class Durations {

        @Test
        @DisplayName("as long as a century are stored, and as short as a nanosecond still make a positive lease")
        void extremes() {
            String key = newKey();
            long token = acquireFresh(key);
            assertThat(store.complete(key, token, StoredResult.of(new byte[0]), Duration.ofDays(365L * 1000)))
                    .isTrue();
            assertThat(store.find(key).orElseThrow().expiresAt())
                    .isAfter(java.time.Instant.now().plus(Duration.ofDays(365L * 99)));

            String brief = newKey();
            assertThat(store.acquire(brief, "h", Duration.ofNanos(1))).isInstanceOf(AcquireResult.Acquired.class);
        }
    }

    @Nested
    @DisplayName("a database fault")
    class Faults {

        @Test
        @DisplayName("a connection killed while acquiring gives a store exception, and the next call works")
        void killedWhileAcquiring() throws Exception {
            String key = newKey();
            try (Blocker blocker = new Blocker(table.database)) {
                insertInProgress(blocker, key, "statement_timestamp() + interval '1 minute'");
                Future<AcquireResult> victim = pool.submit(() -> store.acquire(key, "h", LEASE));
                Blocker.terminate(table.database, blocker.awaitWaiter(table.applicationName));

                assertThatThrownBy(() -> victim.get(20, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(IdempotencyStoreException.class)
                        .cause().hasMessageContaining("failed to acquire").hasMessageContaining(key);
                blocker.rollback();
            }
            assertThat(store.find(key)).isEmpty();
            assertThat(store.acquire(key, "h", LEASE)).isInstanceOf(AcquireResult.Acquired.class);
        }

        @Test
        @DisplayName("a connection killed while completing leaves the record in progress, untouched, and the next call works")
        void killedWhileCompleting() throws Exception {
            String key = newKey();
            long token = acquireFresh(key);
            IdempotencyRecord before = store.find(key).orElseThrow();
            try (Blocker blocker = new Blocker(table.database)) {
                blocker.handle.createQuery("SELECT 1 FROM " + quoted() + " WHERE idempotency_key = :k FOR UPDATE")
                        .bind("k", key).mapTo(Integer.class).one();
                Future<Boolean> victim = pool.submit(() -> store.complete(key, token,
                        StoredResult.of(new byte[] {1}), RETENTION));
                Blocker.terminate(table.database, blocker.awaitWaiter(table.applicationName));

                assertThatThrownBy(() -> victim.get(20, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(IdempotencyStoreException.class);
            }
            assertThat(store.find(key)).contains(before);
            assertThat(store.complete(key, token, StoredResult.of(new byte[] {2}), RETENTION)).isTrue();
            assertThat(store.find(key).orElseThrow().result()).isEqualTo(StoredResult.of(new byte[] {2}));
        }

        @Test
        @DisplayName("a database that cannot be reached gives a store exception wrapping the driver's error")
        void unreachable() {
            JdbiIdempotencyStore nowhere = JdbiIdempotencyStore.builder(
                    Jdbi.create("jdbc:postgresql://127.0.0.1:1/test?user=postgres&connectTimeout=2")).build();

            assertThatThrownBy(() -> nowhere.acquire(newKey(), "h", LEASE))
                    .isInstanceOf(IdempotencyStoreException.class)
                    .hasMessageContaining("failed to acquire")
                    .hasRootCauseInstanceOf(java.net.ConnectException.class);
            assertThatThrownBy(() -> nowhere.purgeExpired()).isInstanceOf(IdempotencyStoreException.class);
        }

        @Test
        @DisplayName("a missing table gives a store exception naming the cause")
        void missingTable() {
            JdbiIdempotencyStore missing = JdbiIdempotencyStore.builder(observed.jdbi)
                    .table(PostgresDatabase.uniqueTableName("missing")).build();

            assertThatThrownBy(() -> missing.find(newKey()))
                    .isInstanceOf(IdempotencyStoreException.class)
                    .hasMessageContaining("does not exist");
        }
    }

    @Nested
    @DisplayName("the schema")
    class Schema {

        @Test
        @DisplayName("constrains the status to the known values")
        void statusChecked() {
            assertThatThrownBy(() -> table.database.admin().useHandle(h -> h.execute("INSERT INTO " + quoted()
                    + " (idempotency_key, status, fencing_token, expires_at) VALUES ('x', 'DONE', 1, now())")))
                    .hasMessageContaining("check constraint");
        }

        @Test
        @DisplayName("has the primary key, the index on expiry and the sequence under names derived from the table")
        void objects() {
            List<String> indexes = table.database.admin().withHandle(h -> h.createQuery(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = :t ORDER BY indexname")
                    .bind("t", table.name).mapTo(String.class).list());
            assertThat(indexes).hasSize(2);
            assertThat(indexes).anySatisfy(def -> assertThat(def).contains(table.name + "_expires_at_idx")
                    .contains("(expires_at)"));
            assertThat(indexes).anySatisfy(def -> assertThat(def).contains("UNIQUE").contains("(idempotency_key)"));
            assertThat(table.database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery(
                    "SELECT count(*) FROM pg_class WHERE relname = :s AND relkind = 'S'")
                    .bind("s", table.name + "_fencing_seq").mapTo(Integer.class).one())).isEqualTo(1);
        }

        @Test
        @DisplayName("is created idempotently, by several nodes at once, in a schema of its own, with a reserved word as name")
        void createSchemaConcurrently() throws Exception {
            String schema = PostgresDatabase.uniqueTableName("schema");
            table.database.admin().useHandle(h -> h.execute("CREATE SCHEMA \"" + schema + "\""));
            try {
                JdbiIdempotencyStore qualified = JdbiIdempotencyStore.builder(observed.jdbi)
                        .table(schema + ".order").build();
                List<Future<?>> creations = new java.util.ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    creations.add(pool.submit(qualified::createSchema));
                }
                for (Future<?> creation : creations) {
                    creation.get(60, TimeUnit.SECONDS);
                }
                qualified.createSchema();

                String key = newKey();
                long token = ((AcquireResult.Acquired) qualified.acquire(key, "h", LEASE)).fencingToken();
                assertThat(qualified.complete(key, token, StoredResult.of(new byte[] {3}), RETENTION)).isTrue();
                assertThat(qualified.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
                assertThat(store.find(key)).as("another table").isEmpty();
                assertThat(qualified.table()).isEqualTo(schema + ".order");
            } finally {
                table.database.admin().useHandle(h -> h.execute("DROP SCHEMA \"" + schema + "\" CASCADE"));
            }
        }

        @Test
        @DisplayName("script is the shipped resource rendered for the configured table")
        void rendered() throws Exception {
            String shipped;
            try (var in = getClass().getClassLoader().getResourceAsStream(JdbiIdempotencyStore.SCHEMA_RESOURCE)) {
                shipped = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
            assertThat(shipped).contains("CREATE TABLE IF NOT EXISTS idempotency_records (")
                    .contains("PRIMARY KEY (idempotency_key)")
                    .contains("CHECK (status IN ('IN_PROGRESS', 'COMPLETED', 'FAILED'))")
                    .contains("CREATE INDEX IF NOT EXISTS idempotency_records_expires_at_idx"
                            + " ON idempotency_records (expires_at)");

            String script = JdbiIdempotencyStore.builder(observed.jdbi).table("billing.payment_keys").build()
                    .schemaScript();

            assertThat(script).doesNotContain("idempotency_records")
                    .contains("CREATE TABLE IF NOT EXISTS \"billing\".\"payment_keys\" (")
                    .contains("CREATE SEQUENCE IF NOT EXISTS \"billing\".\"payment_keys_fencing_seq\" AS bigint")
                    .contains("CREATE INDEX IF NOT EXISTS \"payment_keys_expires_at_idx\""
                            + " ON \"billing\".\"payment_keys\" (expires_at)");
            assertThat(JdbiIdempotencyStore.builder(observed.jdbi).build().schemaScript())
                    .isEqualTo(shipped.replace("idempotency_records_fencing_seq", "\"idempotency_records_fencing_seq\"")
                            .replace("idempotency_records_expires_at_idx", "\"idempotency_records_expires_at_idx\"")
                            .replaceAll("\\bidempotency_records\\b", "\"idempotency_records\""));
        }
    }

    @Nested
    @DisplayName("the table name")
    class TableNames {

        @Test
        @DisplayName("is refused unless it is a plain lower-case identifier, so configuration cannot inject SQL")
        void refused() {
            List<String> bad = List.of("", "records; DROP TABLE users", "\"records\"", "records--", "a.b.c", ".a",
                    "a.", "Records", "1records", "rec ords", "rec'ords", "recórds", "a".repeat(49),
                    "s".repeat(64) + ".t");
            for (String name : bad) {
                assertThatThrownBy(() -> JdbiIdempotencyStore.builder(observed.jdbi).table(name))
                        .as(name).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("Invalid table name");
            }
        }

        @Test
        @DisplayName("is accepted as table or schema.table, up to the length limits")
        void accepted() {
            for (String name : List.of("idempotency_records", "_x", "a1", "s.t", "a".repeat(48),
                    "s".repeat(63) + ".t")) {
                assertThat(JdbiIdempotencyStore.builder(observed.jdbi).table(name).build().table()).isEqualTo(name);
            }
        }
    }

    @Test
    @DisplayName("refuses a batch with a key twice before reaching the database")
    void batchDuplicates() {
        String key = newKey();
        observed.reset();

        assertThatThrownBy(() -> store.acquireAll(List.of(new AcquireRequest(key, "a"), new AcquireRequest(key, "b")),
                LEASE)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("appears twice");
        assertThat(observed.statements).isEmpty();
        assertThat(store.find(key)).isEqualTo(Optional.empty());
    }

    /** Inserts an in-progress row in the given (possibly uncommitted) transaction; returns its token. */
    private static long insertInProgress(Blocker blocker, String key, String leaseEnd) {
        return insertInProgress(blocker.handle, key, leaseEnd);
    }

    private static long insertInProgress(org.jdbi.v3.core.Handle handle, String key, String leaseEnd) {
        return handle.createQuery("INSERT INTO \"" + table.name + "\" (idempotency_key, request_hash, status,"
                + " fencing_token, lease_expires_at, expires_at) VALUES (:k, 'h', 'IN_PROGRESS', nextval('"
                + table.name + "_fencing_seq'), " + leaseEnd + ", statement_timestamp() + interval '2 minutes')"
                + " RETURNING fencing_token").bind("k", key).mapTo(Long.class).one();
    }
}
