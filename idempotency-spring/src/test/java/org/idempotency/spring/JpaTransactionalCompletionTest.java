package org.idempotency.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import jakarta.persistence.Entity;
import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.PersistenceContext;
import jakarta.persistence.Table;
import java.util.Map;
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
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Idempotency;
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
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;
import org.springframework.orm.jpa.vendor.HibernateJpaVendorAdapter;
import org.springframework.test.util.AopTestUtils;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.transaction.annotation.Transactional;

/**
 * {@code @Idempotent} with {@code @Transactional} through JPA (Hibernate, {@code JpaTransactionManager}) on a real
 * PostgreSQL: the entity and the completed record commit together, a rollback releases the key, and a stale owner's
 * commit after a takeover is refused (one entity per key), in a schema of the test's own.
 */
class JpaTransactionalCompletionTest {

    static final String SCHEMA = TestServices.unique("jpa");

    /** A placed order. */
    @Entity
    @Table(name = "orders")
    public static class OrderEntity {
        @Id
        @GeneratedValue(strategy = GenerationType.IDENTITY)
        Long id;
        String idemKey;

        protected OrderEntity() {
        }

        OrderEntity(String idemKey) {
            this.idemKey = idemKey;
        }
    }

    /** The result of placing an order. */
    public record Placed(long id, String key) {
    }

    /** Places orders through JPA, idempotently. */
    public static class Orders {
        @PersistenceContext
        EntityManager entityManager;
        volatile CountDownLatch reached = new CountDownLatch(0);
        volatile CountDownLatch hold = new CountDownLatch(0);

        @Transactional
        @Idempotent(key = "#key", hash = "#key", operation = "jpa-orders")
        public Placed place(String key, String outcome) throws InterruptedException {
            return persist(key, outcome);
        }

        /** The same, in the same operation, with a short lease that expires quickly when renewals fail. */
        @Transactional
        @Idempotent(key = "#key", hash = "#key", operation = "jpa-orders", lease = "800ms")
        public Placed placeWithShortLease(String key, String outcome) throws InterruptedException {
            return persist(key, outcome);
        }

        private Placed persist(String key, String outcome) throws InterruptedException {
            OrderEntity order = new OrderEntity(key);
            entityManager.persist(order);
            entityManager.flush();
            if (outcome.equals("fail")) {
                throw new IllegalStateException("cannot place");
            }
            if (outcome.equals("hold")) {
                reached.countDown();
                hold.await(30, TimeUnit.SECONDS);
            }
            return new Placed(order.id, key);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableIdempotency
    @EnableTransactionManagement
    static class Config {
        @Bean(destroyMethod = "close")
        HikariDataSource dataSource() {
            com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
            config.setJdbcUrl(TestServices.postgresUrl());
            config.setPoolName("jpa-" + SCHEMA);
            config.setMaximumPoolSize(6);
            config.setMinimumIdle(0);
            config.setSchema(SCHEMA);
            return new HikariDataSource(config);
        }

        @Bean
        LocalContainerEntityManagerFactoryBean entityManagerFactory(DataSource dataSource) {
            LocalContainerEntityManagerFactoryBean factory = new LocalContainerEntityManagerFactoryBean();
            factory.setDataSource(dataSource);
            factory.setPackagesToScan();
            factory.setManagedTypes(org.springframework.orm.jpa.persistenceunit.PersistenceManagedTypes
                    .of(OrderEntity.class.getName()));
            factory.setJpaVendorAdapter(new HibernateJpaVendorAdapter());
            factory.setJpaPropertyMap(Map.of("hibernate.hbm2ddl.auto", "create"));
            return factory;
        }

        @Bean
        PlatformTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
            return new JpaTransactionManager(entityManagerFactory);
        }

        @Bean
        JdbiIdempotencyStore sqlStore(DataSource dataSource) {
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(Jdbi.create(dataSource)).build();
            store.createSchema();
            return store;
        }

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
        Orders orders() {
            return new Orders();
        }
    }

    private static AnnotationConfigApplicationContext context;
    private static Orders orders;
    private static Orders target;

    @BeforeAll
    static void start() {
        TestServices.execute("CREATE SCHEMA " + SCHEMA);
        context = new AnnotationConfigApplicationContext(Config.class);
        orders = context.getBean(Orders.class);
        target = AopTestUtils.getTargetObject(orders);
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
        TestServices.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
    }

    @AfterEach
    void heal() {
        context.getBean(FaultInjectingStore.class).heal();
        target.hold.countDown();
    }

    private static long rows(String key) {
        try (java.sql.Connection connection = context.getBean(DataSource.class).getConnection();
                java.sql.PreparedStatement query = connection.prepareStatement(
                        "SELECT count(*) FROM orders WHERE idemkey = ?")) {
            query.setString(1, key);
            try (java.sql.ResultSet result = query.executeQuery()) {
                result.next();
                return result.getLong(1);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RecordStatus status(String key) {
        return context.getBean(Idempotency.class).operation("jpa-orders", Placed.class).find(key).orElseThrow()
                .status();
    }

    @Test
    @DisplayName("the entity and the completed record commit together; a retry replays and persists nothing")
    void commitTogether() throws Exception {
        String key = "k-" + UUID.randomUUID();
        Placed placed = orders.place(key, "ok");

        assertThat(rows(key)).isEqualTo(1);
        assertThat(status(key)).isEqualTo(RecordStatus.COMPLETED);
        assertThat(orders.place(key, "ok")).isEqualTo(placed);
        assertThat(rows(key)).isEqualTo(1);
    }

    @Test
    @DisplayName("a failing method rolls its entity back and releases the key")
    void rollbackReleases() {
        String key = "k-" + UUID.randomUUID();
        assertThatThrownBy(() -> orders.place(key, "fail")).isInstanceOf(IllegalStateException.class);

        assertThat(rows(key)).isZero();
        assertThat(context.getBean(Idempotency.class).operation("jpa-orders", Placed.class).find(key)).isEmpty();
    }

    @Test
    @DisplayName("a takeover mid-transaction: the stale owner's commit is refused, one entity per key")
    void takeoverMidTransaction() throws Exception {
        String key = "k-" + UUID.randomUUID();
        context.getBean(FaultInjectingStore.class).failAlways(FaultInjectingStore.Operation.EXTEND);
        target.reached = new CountDownLatch(1);
        target.hold = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Placed> stale = pool.submit(() -> orders.placeWithShortLease(key, "hold"));
            assertThat(target.reached.await(30, TimeUnit.SECONDS)).isTrue();
            Placed successor = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (successor == null) {
                try {
                    successor = orders.placeWithShortLease(key, "ok");
                } catch (IdempotencyInProgressException stillLive) {
                    assertThat(System.nanoTime() - deadline).as("the lease expires within 30 s").isNegative();
                    Thread.sleep(50);
                }
            }
            target.hold.countDown();

            assertThatThrownBy(() -> stale.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IdempotencyLeaseLostException.class);
            assertThat(rows(key)).isEqualTo(1);
            context.getBean(FaultInjectingStore.class).heal();
            assertThat(orders.place(key, "ok")).isEqualTo(successor);
        } finally {
            target.hold.countDown();
            pool.shutdownNow();
        }
    }
}
