package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.testkit.FaultInjectingStore;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Transactional completion: the work's writes and the completion of the record commit together, or not at all.
 * The cases run on each database ({@link TransactionalOperationTest}, {@link MariaDbTransactionalOperationTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TransactionalOperationCases {

    /** The result type of the cases. */
    public record Receipt(long id, String customer, long amountCents) {
    }

    private TestTable table;
    private BusinessTable orders;
    private Observed observed;
    private JdbiIdempotencyStore store;
    private final List<Idempotency> engines = new CopyOnWriteArrayList<>();
    private final List<IdempotencyEvent> events = new CopyOnWriteArrayList<>();
    private ExecutorService pool;

    /** The database the cases run on. */
    abstract TestDatabase database();

    @BeforeAll
    void createTables() {
        table = TestTable.create(database(), "transactional", 6);
        orders = new BusinessTable(database(), "orders");
    }

    @AfterAll
    void dropTables() {
        orders.close();
        table.close();
    }

    @BeforeEach
    void createStore() {
        observed = new Observed(table);
        store = JdbiIdempotencyStore.builder(observed.jdbi).database(database().kind()).table(table.name).build();
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void closeEngines() {
        engines.forEach(Idempotency::close);
        engines.clear();
        events.clear();
        pool.shutdownNow();
    }

    private Idempotency engine(IdempotencyStore over, UnaryOperator<Idempotency.Builder> configure) {
        Idempotency engine = configure.apply(Idempotency.builder(over).purgeInterval(Duration.ZERO)
                .listener(events::add)).build();
        engines.add(engine);
        return engine;
    }

    private TransactionalOperation<Receipt> operation(UnaryOperator<Idempotency.Builder> configure) {
        return store.transactional(engine(store, configure).operation("charge", Receipt.class));
    }

    private static String newKey() {
        return "tx-" + UUID.randomUUID();
    }

    /** The key under which the store holds the record of operation "charge". */
    private static String stored(String key) {
        return "charge:" + key;
    }

    private List<IdempotencyEvent.Type> eventTypes(String key) {
        return events.stream().filter(e -> e.key().equals(key)).map(IdempotencyEvent::type).toList();
    }

    @Nested
    @DisplayName("a first call")
    class FirstCall {

        @Test
        @DisplayName("commits the work's insert and the completion together, at the cost of two statements")
        void commitsTogether() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();
            observed.reset();

            Receipt receipt = charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "a"), "alice", 1999));

            assertThat(observed.statements).as("acquire, the work's insert, the completion").hasSize(3);
            assertThat(observed.statements.get(0)).contains(database().acquireFragment());
            assertThat(observed.statements.get(1)).contains("INSERT INTO " + orders.quoted());
            assertThat(observed.statements.get(2)).contains("SET status = 'COMPLETED'");
            assertThat(observed.handles).as("the acquire's handle and the transaction's").hasValue(2);
            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(store.find(stored(key)).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.ACQUIRED,
                    IdempotencyEvent.Type.COMPLETED);
            assertThat(receipt.customer()).isEqualTo("alice");
        }

        @Test
        @DisplayName("costs one statement more than the same work in its own transaction, plus the acquire")
        void overhead() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String plain = newKey();
            observed.reset();
            observed.jdbi.useTransaction(h -> orders.insert(h, plain, "plain"));
            int own = observed.statements.size();
            observed.reset();
            String key = newKey();

            charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "a"), "alice", 1));

            assertThat(observed.statements.size() - own).isEqualTo(2);
        }

        @Test
        @DisplayName("runs in a transaction of its own, even inside a transaction the caller holds on this thread")
        void ownTransaction() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();
            String outerKey = newKey();

            assertThatThrownBy(() -> observed.jdbi.useTransaction(outer -> {
                orders.insert(outer, outerKey, "outer");
                charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "a"), "alice", 1));
                throw new IllegalStateException("the caller's transaction rolls back");
            })).hasMessageContaining("rolls back");

            assertThat(orders.rows(outerKey)).isZero();
            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(store.find(stored(key)).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }

        @Test
        @DisplayName("at SERIALIZABLE, work shorter than the renewal interval commits")
        void serializable() {
            TransactionalOperation<Receipt> charge = operation(b -> b)
                    .withIsolation(TransactionIsolationLevel.SERIALIZABLE);
            String key = newKey();

            charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "a"), "alice", 1));

            assertThat(charge.isolation()).contains(TransactionIsolationLevel.SERIALIZABLE);
            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(store.find(stored(key)).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }

        @Test
        @DisplayName("work without a result runs once with run()")
        void runWithoutResult() {
            TransactionalOperation<Void> mail = store.transactional(engine(store, b -> b).operation("mail"));
            String key = newKey();

            mail.run(key, "h", h -> orders.insert(h, key, "a"));
            mail.run(key, "h", h -> orders.insert(h, key, "b"));

            assertThat(orders.rows(key)).isEqualTo(1);
        }
    }

    @Nested
    @DisplayName("a repeat")
    class Repeats {

        @Test
        @DisplayName("replays the stored result with one statement and no transaction, without running the work")
        void replay() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();
            Receipt first = charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "a"), "alice", 1999));
            observed.reset();

            Receipt again = charge.execute(key, "h", h -> {
                throw new AssertionError("must not run");
            });

            assertThat(again).isEqualTo(first);
            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(observed.statements).hasSize(1);
            assertThat(observed.handles).as("only the acquire's auto-commit handle").hasValue(1);
        }

        @Test
        @DisplayName("while the first runs gets in-progress, a reused key is refused, and neither opens a transaction")
        void inProgressAndReused() throws Exception {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Future<Receipt> first = pool.submit(() -> charge.execute(key, "h", h -> {
                long id = orders.insert(h, key, "a");
                running.countDown();
                release.await(30, TimeUnit.SECONDS);
                return new Receipt(id, "alice", 1);
            }));
            assertThat(running.await(20, TimeUnit.SECONDS)).isTrue();
            observed.reset();

            assertThatThrownBy(() -> charge.execute(key, "h", h -> new Receipt(0, "dup", 0)))
                    .isInstanceOf(IdempotencyInProgressException.class);
            assertThatThrownBy(() -> charge.execute(key, "other", h -> new Receipt(0, "dup", 0)))
                    .isInstanceOf(IdempotencyKeyReusedException.class);

            assertThat(observed.handles).hasValue(2);
            release.countDown();
            assertThat(first.get(20, TimeUnit.SECONDS).customer()).isEqualTo("alice");
            assertThat(orders.rows(key)).isEqualTo(1);
        }
    }

    @Nested
    @DisplayName("a takeover during the work")
    class Takeover {

        @Test
        @DisplayName("rolls the work's insert back and throws lease lost; the new owner's run is the one that counts")
        void rollsBack() {
            FaultInjectingStore stalled = FaultInjectingStore.wrap(store).failAlways(FaultInjectingStore.Operation.EXTEND);
            TransactionalOperation<Receipt> charge = store.transactional(
                    engine(stalled, b -> b.lease(Duration.ofMillis(400))).operation("charge", Receipt.class));
            JdbiIdempotencyStore otherNode = table.store();
            String key = newKey();
            long[] newOwner = new long[1];

            assertThatThrownBy(() -> charge.execute(key, "h", h -> {
                long id = orders.insert(h, key, "stalled");
                Observed.eventually("another node takes the expired lease over", () -> {
                    AcquireResult result = otherNode.acquire(stored(key), "h", Duration.ofMinutes(1));
                    if (result instanceof AcquireResult.Acquired acquired) {
                        newOwner[0] = acquired.fencingToken();
                        return true;
                    }
                    return false;
                });
                return new Receipt(id, "stalled", 1);
            })).isInstanceOfSatisfying(IdempotencyLeaseLostException.class,
                    e -> assertThat(e.httpStatus()).isEqualTo(409));

            assertThat(orders.rows(key)).as("the stalled owner's insert was rolled back").isZero();
            assertThat(store.find(stored(key)).orElseThrow().fencingToken()).isEqualTo(newOwner[0]);
            assertThat(store.find(stored(key)).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);
            assertThat(eventTypes(key)).contains(IdempotencyEvent.Type.LEASE_LOST)
                    .doesNotContain(IdempotencyEvent.Type.COMPLETED);
        }
    }

    @Nested
    @DisplayName("an exception in the work")
    class WorkFails {

        @Test
        @DisplayName("rolls the work back, releases the key and is rethrown unchanged; a retry runs the work")
        void releases() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();
            IllegalStateException boom = new IllegalStateException("card declined by the network");

            assertThatThrownBy(() -> charge.execute(key, "h", h -> {
                orders.insert(h, key, "a");
                throw boom;
            })).isSameAs(boom);

            assertThat(orders.rows(key)).isZero();
            assertThat(store.find(stored(key))).isEmpty();
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.ACQUIRED,
                    IdempotencyEvent.Type.RELEASED);
            assertThat(charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "b"), "bob", 1)).customer())
                    .isEqualTo("bob");
            assertThat(orders.node(key)).isEqualTo("b");
        }

        @Test
        @DisplayName("that is checked is rethrown as the declared type")
        void checked() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();

            assertThatThrownBy(() -> charge.<IOException>execute(key, "h", h -> {
                orders.insert(h, key, "a");
                throw new IOException("disk full");
            })).isInstanceOf(IOException.class).hasMessage("disk full");
            assertThat(orders.rows(key)).isZero();
        }

        @Test
        @DisplayName("that the engine declares permanent is recorded and replayed; the work's writes roll back")
        void permanent() {
            TransactionalOperation<Receipt> charge = operation(b -> b.permanentFailure(
                    e -> e instanceof IllegalArgumentException));
            String key = newKey();

            assertThatThrownBy(() -> charge.execute(key, "h", h -> {
                orders.insert(h, key, "a");
                throw new IllegalArgumentException("amount must be positive");
            })).isInstanceOf(IllegalArgumentException.class);

            assertThat(orders.rows(key)).isZero();
            assertThat(store.find(stored(key)).orElseThrow().status()).isEqualTo(RecordStatus.FAILED);
            assertThatThrownBy(() -> charge.execute(key, "h", h -> new Receipt(0, "x", 0)))
                    .isInstanceOf(IdempotencyReplayedFailureException.class)
                    .hasMessageContaining("amount must be positive");
        }
    }

    @Nested
    @DisplayName("a database fault")
    class Faults {

        @Test
        @DisplayName("killing the transaction's connection makes the completion fail: store exception, nothing committed, key released")
        void connectionKilled() {
            TransactionalOperation<Receipt> charge = operation(b -> b);
            String key = newKey();

            assertThatThrownBy(() -> charge.execute(key, "h", h -> {
                long id = orders.insert(h, key, "a");
                long session = h.createQuery(database().sessionIdQuery()).mapTo(Long.class).one();
                table.database.terminate(session);
                return new Receipt(id, "alice", 1);
            })).isInstanceOf(IdempotencyStoreException.class)
                    .hasMessageContaining("did not commit")
                    .hasMessageContaining(key);

            assertThat(orders.rows(key)).isZero();
            assertThat(store.find(stored(key))).isEmpty();
            assertThat(eventTypes(key)).endsWith(IdempotencyEvent.Type.RELEASED);
            assertThat(charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "b"), "bob", 1)).customer())
                    .isEqualTo("bob");
            assertThat(orders.rows(key)).isEqualTo(1);
        }

        @Test
        @DisplayName("at REPEATABLE READ, a renewal during the work: PostgreSQL refuses the completion (serialization"
                + " failure: store exception, key released); MariaDB completes against the latest row")
        void repeatableReadAndRenewal() {
            TransactionalOperation<Receipt> charge = operation(b -> b.lease(Duration.ofSeconds(5))
                    .renewInterval(Duration.ofMillis(100)))
                    .withIsolation(TransactionIsolationLevel.REPEATABLE_READ);
            String key = newKey();

            HandleCallback<Receipt, RuntimeException> work = h -> {
                long id = orders.insert(h, key, "a"); // the transaction's snapshot is taken here
                Instant leaseEnd = store.find(stored(key)).orElseThrow().leaseExpiresAt();
                Observed.eventually("the lease was renewed", () -> store.find(stored(key)).orElseThrow().leaseExpiresAt()
                        .isAfter(leaseEnd));
                return new Receipt(id, "alice", 1);
            };

            if (database().kind() == SqlDatabase.POSTGRESQL) {
                assertThatThrownBy(() -> charge.execute(key, "h", work)).isInstanceOf(IdempotencyStoreException.class)
                        .extracting(e -> sqlState(e), InstanceOfAssertFactories.STRING).isEqualTo("40001");
                assertThat(orders.rows(key)).isZero();
                assertThat(store.find(stored(key))).isEmpty();
            } else {
                // InnoDB's UPDATE reads the latest committed row, whatever the transaction's snapshot
                assertThat(charge.execute(key, "h", work).customer()).isEqualTo("alice");
                assertThat(orders.rows(key)).isEqualTo(1);
                assertThat(store.find(stored(key)).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
            }
        }

        @Test
        @DisplayName("while acquiring, with an engine that fails open, runs the work unprotected in a plain transaction")
        void failOpen() {
            FaultInjectingStore broken = FaultInjectingStore.wrap(store).failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            TransactionalOperation<Receipt> charge = store.transactional(
                    engine(broken, b -> b.failOpen(true)).operation("charge", Receipt.class));
            String key = newKey();

            charge.execute(key, "h", h -> new Receipt(orders.insert(h, key, "a"), "alice", 1));

            assertThat(orders.rows(key)).isEqualTo(1);
            assertThat(store.find(stored(key))).isEmpty();
            assertThat(eventTypes(key)).containsExactly(IdempotencyEvent.Type.STORE_ERROR,
                    IdempotencyEvent.Type.UNPROTECTED);
        }

        @Test
        @DisplayName("while acquiring, by default, fails closed: the work does not run")
        void failClosed() {
            FaultInjectingStore broken = FaultInjectingStore.wrap(store).failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            TransactionalOperation<Receipt> charge = store.transactional(
                    engine(broken, b -> b).operation("charge", Receipt.class));
            AtomicInteger runs = new AtomicInteger();

            assertThatThrownBy(() -> charge.execute(newKey(), "h", h -> {
                runs.incrementAndGet();
                return new Receipt(0, "x", 0);
            })).isInstanceOf(IdempotencyStoreException.class);
            assertThat(runs).hasValue(0);
        }
    }

    @Test
    @DisplayName("refuses an operation whose engine runs over another store")
    void otherStore() {
        JdbiIdempotencyStore other = JdbiIdempotencyStore.builder(observed.jdbi).database(database().kind())
                .table("somewhere_else").build();

        assertThatThrownBy(() -> store.transactional(engine(other, b -> b).operation("charge", Receipt.class)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("somewhere_else");
    }

    private static String sqlState(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql) {
                return sql.getSQLState();
            }
        }
        return "none";
    }
}
