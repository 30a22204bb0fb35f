package org.idempotency.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.spring.jdbc.JdbiTransactionalCompletion;
import org.idempotency.testkit.FaultInjectingStore;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.test.util.AopTestUtils;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@code @Idempotent} with {@code @Transactional} on a real PostgreSQL, through JdbcTemplate: with the SQL store on
 * the transaction's {@code DataSource} the record is completed inside the transaction (one business row per key,
 * a stale owner's commit refused); with another store it is completed after the commit.
 */
class TransactionalCompletionTest {

    static final String RECORDS = TestServices.unique("tx_records");
    static final String ORDERS = TestServices.unique("tx_orders");

    /** A placed order: its row id and key. */
    public record Order(long id, String key, String customer) {
    }

    /** Places orders in the database, idempotently, in a transaction. */
    public static class Orders {
        private final JdbcTemplate jdbc;
        volatile CountDownLatch reached = new CountDownLatch(0);
        volatile CountDownLatch hold = new CountDownLatch(0);

        public Orders(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Transactional
        @Idempotent(key = "#key", hash = "#customer", operation = "orders", lease = "${orders.lease:30s}")
        public Order place(String key, String customer, String outcome) throws InterruptedException {
            return insert(key, customer, outcome);
        }

        /** The same, in the same operation, with a short lease that expires quickly when renewals fail. */
        @Transactional
        @Idempotent(key = "#key", hash = "#customer", operation = "orders", lease = "800ms")
        public Order placeWithShortLease(String key, String customer, String outcome) throws InterruptedException {
            return insert(key, customer, outcome);
        }

        private Order insert(String key, String customer, String outcome) throws InterruptedException {
            Long id = jdbc.queryForObject("INSERT INTO " + ORDERS + " (idem_key, customer) VALUES (?, ?) RETURNING id",
                    Long.class, key, customer);
            if (outcome.equals("fail")) {
                throw new IllegalStateException("the order cannot be placed");
            }
            if (outcome.equals("hold")) {
                reached.countDown();
                hold.await(30, TimeUnit.SECONDS);
            }
            return new Order(id, key, customer);
        }
    }

    /** Calls {@link Orders} inside a transaction of its own that then fails. */
    public static class Checkout {
        private final Orders orders;

        public Checkout(Orders orders) {
            this.orders = orders;
        }

        @Transactional
        public Order placeThenFail(String key) throws InterruptedException {
            orders.place(key, "c-1", "ok");
            throw new IllegalStateException("the checkout failed after the order");
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableIdempotency
    @EnableTransactionManagement
    static class Config {
        @Bean(destroyMethod = "close")
        HikariDataSource dataSource() {
            return TestServices.postgresPool("tx-completion-" + UUID.randomUUID().toString().substring(0, 8), 8);
        }

        @Bean
        JdbcTemplate jdbcTemplate(DataSource dataSource) {
            return new JdbcTemplate(dataSource);
        }

        @Bean
        PlatformTransactionManager transactionManager(DataSource dataSource) {
            return new DataSourceTransactionManager(dataSource);
        }

        @Bean
        JdbiIdempotencyStore sqlStore(DataSource dataSource) {
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(Jdbi.create(dataSource)).table(RECORDS).build();
            store.createSchema();
            return store;
        }

        /** The engine runs over a wrapper that can make renewals fail, to stall an owner. */
        @Bean
        FaultInjectingStore engineStore(JdbiIdempotencyStore sqlStore) {
            return FaultInjectingStore.wrap(sqlStore);
        }

        @Bean(destroyMethod = "close")
        Idempotency idempotency(FaultInjectingStore engineStore) {
            return Idempotency.builder(engineStore).build();
        }

        @Bean
        IdempotencyEngines idempotencyEngines(Idempotency idempotency, FaultInjectingStore engineStore) {
            return new IdempotencyEngines(idempotency, () -> Idempotency.builder(engineStore));
        }

        @Bean
        TransactionalCompletion transactionalCompletion(JdbiIdempotencyStore sqlStore, DataSource dataSource,
                FaultInjectingStore engineStore) {
            return new JdbiTransactionalCompletion(sqlStore, dataSource).withEngineStore(engineStore);
        }

        @Bean
        Orders orders(JdbcTemplate jdbcTemplate) {
            return new Orders(jdbcTemplate);
        }

        @Bean
        Checkout checkout(Orders orders) {
            return new Checkout(orders);
        }
    }

    private static AnnotationConfigApplicationContext context;
    private static Orders orders;
    private static Orders target;
    private static JdbcTemplate jdbc;
    private static Idempotency engine;

    @BeforeAll
    static void start() {
        TestServices.execute("CREATE TABLE " + ORDERS + " (id bigserial PRIMARY KEY, idem_key text NOT NULL,"
                + " customer text NOT NULL)");
        context = new AnnotationConfigApplicationContext(Config.class);
        orders = context.getBean(Orders.class);
        target = AopTestUtils.getTargetObject(orders);
        jdbc = context.getBean(JdbcTemplate.class);
        engine = context.getBean(Idempotency.class);
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
        TestServices.execute("DROP TABLE IF EXISTS " + ORDERS, "DROP TABLE IF EXISTS " + RECORDS + " CASCADE",
                "DROP SEQUENCE IF EXISTS " + RECORDS + "_fencing_seq");
    }

    @AfterEach
    void heal() {
        context.getBean(FaultInjectingStore.class).heal();
        target.hold.countDown();
    }

    private static int rows(String key) {
        return jdbc.queryForObject("SELECT count(*) FROM " + ORDERS + " WHERE idem_key = ?", Integer.class, key);
    }

    private static Optional<IdempotencyRecord> record(String key) {
        return engine.operation("orders", Order.class).find(key);
    }

    private static String newKey() {
        return "order-" + UUID.randomUUID();
    }

    @Test
    @DisplayName("the business row and the completed record commit together; a retry replays and inserts nothing")
    void commitTogether() throws Exception {
        String key = newKey();
        Order placed = orders.place(key, "c-1", "ok");

        assertThat(rows(key)).isEqualTo(1);
        assertThat(record(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(orders.place(key, "c-1", "ok")).isEqualTo(placed);
        assertThat(rows(key)).isEqualTo(1);
    }

    @Test
    @DisplayName("a failing method rolls its row back and releases the key, so a retry runs")
    void rollbackReleases() throws Exception {
        String key = newKey();
        assertThatThrownBy(() -> orders.place(key, "c-1", "fail")).isInstanceOf(IllegalStateException.class);

        assertThat(rows(key)).isZero();
        assertThat(record(key)).isEmpty();
        orders.place(key, "c-1", "ok");
        assertThat(rows(key)).isEqualTo(1);
    }

    @Test
    @DisplayName("an outer transaction that fails after the method rolls both back and releases the key")
    void outerRollback() throws Exception {
        String key = "checkout-" + UUID.randomUUID();
        Checkout checkout = context.getBean(Checkout.class);
        // the checkout always places its order under the key it is given
        assertThatThrownBy(() -> checkout.placeThenFail(key)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("checkout failed");

        assertThat(rows(key)).isZero();
        assertThat(record(key)).isEmpty();
    }

    @Test
    @DisplayName("a takeover mid-transaction: the stale owner's commit is refused, one business row per key")
    void takeoverMidTransaction() throws Exception {
        String key = newKey();
        FaultInjectingStore store = context.getBean(FaultInjectingStore.class);
        store.failAlways(FaultInjectingStore.Operation.EXTEND); // the first owner stalls: its lease is not renewed
        target.reached = new CountDownLatch(1);
        target.hold = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Order> stale = pool.submit(() -> orders.placeWithShortLease(key, "c-1", "hold"));
            assertThat(target.reached.await(30, TimeUnit.SECONDS)).isTrue();

            Order successor = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (successor == null) {
                try {
                    successor = orders.placeWithShortLease(key, "c-1", "ok");
                } catch (IdempotencyInProgressException stillLive) {
                    assertThat(System.nanoTime() - deadline).as("the lease expires within 30 s").isNegative();
                    Thread.sleep(50);
                }
            }
            target.hold.countDown();

            assertThatThrownBy(() -> stale.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IdempotencyLeaseLostException.class);
            assertThat(rows(key)).as("the stale owner's row was rolled back").isEqualTo(1);
            assertThat(jdbc.queryForObject("SELECT id FROM " + ORDERS + " WHERE idem_key = ?", Long.class, key))
                    .isEqualTo(successor.id());
            store.heal();
            assertThat(orders.place(key, "c-1", "ok")).isEqualTo(successor);
            assertThat(rows(key)).isEqualTo(1);
        } finally {
            target.hold.countDown();
            pool.shutdownNow();
        }
    }

    /** With a store that cannot join the transaction, the record is completed after the commit. */
    @Test
    @DisplayName("with another store, the record is completed after the commit and released after a rollback")
    void afterCommitWithAnotherStore() {
        try (AnnotationConfigApplicationContext memory = new AnnotationConfigApplicationContext()) {
            memory.registerBean(DataSource.class, () -> context.getBean(DataSource.class));
            memory.registerBean(PlatformTransactionManager.class,
                    () -> new DataSourceTransactionManager(memory.getBean(DataSource.class)));
            memory.registerBean(Idempotency.class, () -> Idempotency.builder(InMemoryIdempotencyStore.create()).build());
            memory.registerBean(Labels.class);
            memory.register(EnableIdempotencyConfig.class);
            memory.refresh();
            Labels labels = memory.getBean(Labels.class);
            TransactionTemplate transactions = new TransactionTemplate(memory.getBean(PlatformTransactionManager.class));
            Idempotency memoryEngine = memory.getBean(Idempotency.class);
            String key = newKey();

            List<RecordStatus> inside = transactions.execute(status -> {
                labels.label(key);
                return List.of(memoryEngine.operation("Labels.label", String.class).find(key).orElseThrow().status());
            });
            assertThat(inside).containsExactly(RecordStatus.IN_PROGRESS);
            assertThat(memoryEngine.operation("Labels.label", String.class).find(key).orElseThrow().status())
                    .isEqualTo(RecordStatus.COMPLETED);

            String rolledBack = newKey();
            transactions.executeWithoutResult(status -> {
                labels.label(rolledBack);
                status.setRollbackOnly();
            });
            assertThat(memoryEngine.operation("Labels.label", String.class).find(rolledBack)).isEmpty();
            memoryEngine.close();
        }
    }

    /** A method whose engine runs over the in-memory store. */
    public static class Labels {
        @Idempotent(key = "#key")
        public String label(String key) {
            return "label-" + key;
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableIdempotency
    @EnableTransactionManagement
    static class EnableIdempotencyConfig {
    }
}
