package org.idempotency.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.springframework.aop.support.AopUtils;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.util.AopTestUtils;

/**
 * {@code @Idempotent} on plain Spring beans (one context for the class, over the in-memory store): keys and
 * hashes from SpEL, replays into generic return types, operation names, per-method settings and failures.
 */
class IdempotentMethodTest {

    /** A command with an id, items and a note that the hash may leave out. */
    public record CreateOrder(String id, List<String> items, String note) {
    }

    /** A result. */
    public record Order(String id, List<String> items, int run) {
    }

    /** A result with java.time values. */
    public record Stamp(Instant at, OffsetDateTime offset, ZonedDateTime zoned, LocalDate day, Duration took) {
    }

    /** A result of a payment. */
    public record Receipt(String id, long cents) {
    }

    /** A permanent failure of a payment. */
    public static class CardDeclined extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public CardDeclined(String message) {
            super(message);
        }
    }

    /** Generic repository methods, resolved against the subclass's type argument. */
    public abstract static class Repository<T> {
        final AtomicInteger runs = new AtomicInteger();

        protected abstract T create(String id);

        @Idempotent(key = "#id")
        public List<T> createTwo(String id) {
            runs.incrementAndGet();
            return List.of(create(id + "-1"), create(id + "-2"));
        }
    }

    /** The repository of orders. */
    public static class OrderRepository extends Repository<Order> {
        @Override
        protected Order create(String id) {
            return new Order(id, List.of(), runs.get());
        }
    }

    /** Annotations on an interface apply to its implementation. */
    public interface Payments {
        @Idempotent(key = "#id", operation = "payments")
        Receipt pay(String id, long cents);
    }

    /** Implements {@link Payments}. */
    public static class CardPayments implements Payments {
        final AtomicInteger runs = new AtomicInteger();

        @Override
        public Receipt pay(String id, long cents) {
            runs.incrementAndGet();
            return new Receipt(id, cents);
        }
    }

    /** Key prefixes, a bean the expressions refer to. */
    public static class Keys {
        public String tenant(String id) {
            return "tenant-a:" + id;
        }
    }

    /** The service under test. */
    public static class OrderService {
        final AtomicInteger runs = new AtomicInteger();
        volatile CountDownLatch hold = new CountDownLatch(0);
        volatile CountDownLatch reached = new CountDownLatch(0);

        @Idempotent(key = "#command.id")
        public Order create(CreateOrder command) {
            return new Order(command.id(), command.items(), runs.incrementAndGet());
        }

        @Idempotent(key = "#command.id", hash = "#command.items")
        public Order createIgnoringNote(CreateOrder command) {
            return new Order(command.id(), command.items(), runs.incrementAndGet());
        }

        @Idempotent(key = "#p0", hash = "null")
        public String unchecked(String key, String payload) {
            return payload + "-" + runs.incrementAndGet();
        }

        @Idempotent(key = "#a0")
        public Optional<Receipt> receipt(String id, boolean present) {
            runs.incrementAndGet();
            return present ? Optional.of(new Receipt(id, 42)) : Optional.empty();
        }

        @Idempotent(key = "#id")
        public int count(String id) {
            return runs.incrementAndGet();
        }

        @Idempotent(key = "#id")
        public void touch(String id) {
            runs.incrementAndGet();
        }

        @Idempotent(key = "#id")
        public Map<String, List<Long>> totals(String id) {
            runs.incrementAndGet();
            return Map.of("a", List.of(1L, 2L));
        }

        @Idempotent(key = "#id")
        public Stamp stamp(String id) {
            runs.incrementAndGet();
            return new Stamp(Instant.parse("2026-11-30T10:15:30.123456Z"),
                    OffsetDateTime.parse("2026-11-30T11:15:30+01:00"),
                    ZonedDateTime.parse("2026-11-30T11:15:30+01:00[Europe/Paris]"), LocalDate.of(2026, 11, 30),
                    Duration.ofMillis(1500));
        }

        @Idempotent(key = "@keys.tenant(#id)", operation = "${orders.operation:tenant-orders}")
        public String tenantOrder(String id) {
            return "order-" + runs.incrementAndGet();
        }

        @Idempotent(key = "#root.args[0] + ':' + #root.method.name")
        public String rooted(String id) {
            return "rooted-" + runs.incrementAndGet();
        }

        @Idempotent(key = "#command.note")
        public String keyMayBeNull(CreateOrder command) {
            return "ran";
        }

        @Idempotent(key = "#id", permanentFailures = CardDeclined.class)
        public Receipt charge(String id, String outcome) {
            runs.incrementAndGet();
            switch (outcome) {
                case "decline" -> throw new CardDeclined("card declined");
                case "crash" -> throw new IllegalStateException("gateway down");
                default -> {
                    return new Receipt(id, 100);
                }
            }
        }

        @Idempotent(key = "#id", hash = "#id", waitForInProgress = "${orders.wait:10s}")
        public String slow(String id) throws InterruptedException {
            reached.countDown();
            hold.await(10, TimeUnit.SECONDS);
            return "slow-" + runs.incrementAndGet();
        }

        @Idempotent(key = "#id", hash = "#id")
        public String slowWithoutWait(String id) throws InterruptedException {
            reached.countDown();
            hold.await(10, TimeUnit.SECONDS);
            return "slow-" + runs.incrementAndGet();
        }

        @Idempotent(key = "#id", lease = "PT2S", retention = "90m")
        public String shortLease(String id) {
            return "short-" + runs.incrementAndGet();
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableIdempotency
    static class Config {
        @Bean
        InMemoryIdempotencyStore store() {
            return InMemoryIdempotencyStore.create();
        }

        @Bean(destroyMethod = "close")
        Idempotency idempotency(InMemoryIdempotencyStore store) {
            return Idempotency.builder(store).build();
        }

        @Bean
        IdempotencyEngines idempotencyEngines(Idempotency idempotency, InMemoryIdempotencyStore store) {
            return new IdempotencyEngines(idempotency, () -> Idempotency.builder(store));
        }

        @Bean
        OrderService orderService() {
            return new OrderService();
        }

        @Bean
        OrderRepository orderRepository() {
            return new OrderRepository();
        }

        @Bean
        CardPayments payments() {
            return new CardPayments();
        }

        @Bean
        Keys keys() {
            return new Keys();
        }
    }

    private static AnnotationConfigApplicationContext context;
    private static OrderService orders;
    /** The object behind the proxy, whose fields the tests read and set (a class proxy's own fields are unused). */
    private static OrderService target;
    private static Idempotency engine;

    @BeforeAll
    static void start() {
        context = new AnnotationConfigApplicationContext(Config.class);
        orders = context.getBean(OrderService.class);
        target = AopTestUtils.getTargetObject(orders);
        engine = context.getBean(Idempotency.class);
    }

    @AfterAll
    static void stop() {
        context.close();
    }

    private static String newKey() {
        return "k-" + UUID.randomUUID();
    }

    private static Optional<IdempotencyRecord> record(String operation, String key) {
        return engine.operation(operation, String.class).find(key);
    }

    @Nested
    @DisplayName("keys and request hashes")
    class KeysAndHashes {

        @Test
        @DisplayName("the key comes from a SpEL expression over the arguments; a repeat replays without running")
        void spelKey() {
            assertThat(AopUtils.isCglibProxy(orders)).isTrue();
            String id = newKey();
            CreateOrder command = new CreateOrder(id, List.of("book"), "first");

            Order first = orders.create(command);
            Order again = orders.create(command);

            assertThat(again).isEqualTo(first);
            assertThat(record("OrderService.create", id)).get().extracting(IdempotencyRecord::status)
                    .isEqualTo(RecordStatus.COMPLETED);
        }

        @Test
        @DisplayName("by default every argument is hashed: the same key with other arguments is refused")
        void allArgumentsHashed() {
            String id = newKey();
            orders.create(new CreateOrder(id, List.of("book"), "first"));

            assertThatThrownBy(() -> orders.create(new CreateOrder(id, List.of("book"), "second")))
                    .isInstanceOf(IdempotencyKeyReusedException.class);
        }

        @Test
        @DisplayName("a hash expression selects what is hashed: other fields may change")
        void hashSelection() {
            String id = newKey();
            Order first = orders.createIgnoringNote(new CreateOrder(id, List.of("book"), "first"));

            assertThat(orders.createIgnoringNote(new CreateOrder(id, List.of("book"), "second"))).isEqualTo(first);
            assertThatThrownBy(() -> orders.createIgnoringNote(new CreateOrder(id, List.of("pen"), "first")))
                    .isInstanceOf(IdempotencyKeyReusedException.class);
        }

        @Test
        @DisplayName("a hash expression yielding null skips the reuse check")
        void nullHash() {
            String key = newKey();
            String first = orders.unchecked(key, "a");

            assertThat(orders.unchecked(key, "b")).isEqualTo(first);
        }

        @Test
        @DisplayName("expressions reach beans, placeholders and the root object")
        void beansPlaceholdersAndRoot() {
            String id = newKey();
            String first = orders.tenantOrder(id);

            assertThat(orders.tenantOrder(id)).isEqualTo(first);
            assertThat(record("tenant-orders", "tenant-a:" + id)).isPresent();
            String rooted = orders.rooted(id);
            assertThat(orders.rooted(id)).isEqualTo(rooted);
            assertThat(record("OrderService.rooted", id + ":rooted")).isPresent();
        }

        @Test
        @DisplayName("a key expression that yields null is refused before the store is called, naming it")
        void nullKey() {
            assertThatThrownBy(() -> orders.keyMayBeNull(new CreateOrder("x", List.of(), null)))
                    .isInstanceOf(InvalidIdempotencyKeyException.class)
                    .hasMessageContaining("#command.note").hasMessageContaining("keyMayBeNull");
        }

        @Test
        @DisplayName("a blank key is refused by the key rules")
        void blankKey() {
            assertThatThrownBy(() -> orders.create(new CreateOrder(" ", List.of(), "n")))
                    .isInstanceOf(InvalidIdempotencyKeyException.class).hasMessageContaining("blank");
        }
    }

    @Nested
    @DisplayName("replays")
    class Replays {

        @Test
        @DisplayName("decode into the method's generic return type, resolved against the bean's class")
        void genericSuperclass() {
            OrderRepository repository = context.getBean(OrderRepository.class);
            OrderRepository behind = AopTestUtils.getTargetObject(repository);
            String id = newKey();
            List<Order> first = repository.createTwo(id);

            List<Order> again = repository.createTwo(id);

            assertThat(again).isEqualTo(first);
            assertThat(again.get(0)).isInstanceOf(Order.class);
            assertThat(behind.runs).hasValue(1);
        }

        @Test
        @DisplayName("keep Optional results, present or empty")
        void optional() {
            String present = newKey();
            String empty = newKey();
            orders.receipt(present, true);
            orders.receipt(empty, false);
            int runs = target.runs.get();

            assertThat(orders.receipt(present, true)).contains(new Receipt(present, 42));
            assertThat(orders.receipt(empty, false)).isEmpty();
            assertThat(target.runs).hasValue(runs);
        }

        @Test
        @DisplayName("keep primitive, void, map and java.time results")
        void otherShapes() {
            String id = newKey();
            int count = orders.count(id);
            orders.touch(id);
            Map<String, List<Long>> totals = orders.totals(id);
            Stamp stamp = orders.stamp(id);
            int runs = target.runs.get();

            assertThat(orders.count(id)).isEqualTo(count);
            orders.touch(id);
            assertThat(orders.totals(id)).isEqualTo(totals);
            assertThat(orders.totals(id).get("a").get(0)).isInstanceOf(Long.class);
            assertThat(orders.stamp(id)).isEqualTo(stamp);
            assertThat(target.runs).hasValue(runs);
        }

        @Test
        @DisplayName("work for an annotation on an interface method, in the operation it names")
        void interfaceAnnotation() {
            Payments payments = context.getBean(Payments.class);
            CardPayments behind = AopTestUtils.getTargetObject(payments);
            String id = newKey();

            Receipt first = payments.pay(id, 500);

            assertThat(payments.pay(id, 500)).isEqualTo(first);
            assertThat(behind.runs).hasValue(1);
            assertThat(record("payments", id)).isPresent();
        }
    }

    @Nested
    @DisplayName("failures")
    class Failures {

        @Test
        @DisplayName("of a listed permanent type are recorded and replayed; others release the key for a retry")
        void permanentAndTransient() {
            String declined = newKey();
            assertThatThrownBy(() -> orders.charge(declined, "decline")).isInstanceOf(CardDeclined.class);
            assertThatThrownBy(() -> orders.charge(declined, "decline"))
                    .isInstanceOfSatisfying(IdempotencyReplayedFailureException.class, e -> {
                        assertThat(e.errorType()).isEqualTo(CardDeclined.class.getName());
                        assertThat(e.errorMessage()).isEqualTo("card declined");
                    });

            String crashed = newKey();
            IllegalStateException crash = null;
            try {
                orders.charge(crashed, "crash");
            } catch (IllegalStateException e) {
                crash = e;
            }
            assertThat(crash).hasMessage("gateway down");
            assertThat(record("OrderService.charge", crashed)).isEmpty();
            assertThat(orders.charge(crashed, "crash-fixed")).isEqualTo(new Receipt(crashed, 100));
        }
    }

    @Nested
    @DisplayName("per-method settings")
    class Settings {

        @Test
        @DisplayName("a wait lets a duplicate wait for the running call and get its result")
        void waitForInProgress() throws Exception {
            String id = newKey();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            target.hold = new CountDownLatch(1);
            target.reached = new CountDownLatch(1);
            try {
                Future<String> first = pool.submit(() -> orders.slow(id));
                assertThat(target.reached.await(10, TimeUnit.SECONDS)).isTrue();
                Future<String> duplicate = pool.submit(() -> orders.slow(id));
                Thread.sleep(100);
                assertThat(duplicate).isNotDone();
                target.hold.countDown();

                assertThat(duplicate.get(10, TimeUnit.SECONDS)).isEqualTo(first.get(10, TimeUnit.SECONDS));
            } finally {
                target.hold.countDown();
                pool.shutdownNow();
            }
        }

        @Test
        @DisplayName("without a wait a duplicate of a running call is refused at once")
        void noWait() throws Exception {
            String id = newKey();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            target.hold = new CountDownLatch(1);
            target.reached = new CountDownLatch(1);
            try {
                Future<String> first = pool.submit(() -> orders.slowWithoutWait(id));
                assertThat(target.reached.await(10, TimeUnit.SECONDS)).isTrue();

                assertThatThrownBy(() -> orders.slowWithoutWait(id))
                        .isInstanceOf(IdempotencyInProgressException.class);
                target.hold.countDown();
                assertThat(first.get(10, TimeUnit.SECONDS)).startsWith("slow-");
            } finally {
                target.hold.countDown();
                pool.shutdownNow();
            }
        }

        @Test
        @DisplayName("a lease and a retention of the method's own are used by its records")
        void leaseAndRetention() {
            String id = newKey();
            Instant before = Instant.now();
            orders.shortLease(id);

            IdempotencyRecord record = record("OrderService.shortLease", id).orElseThrow();
            assertThat(Duration.between(before, record.expiresAt()))
                    .isBetween(Duration.ofMinutes(89), Duration.ofMinutes(91));
            assertThat(context.getBean(IdempotencyEngines.class).engine(Duration.ofSeconds(2), Duration.ofMinutes(90),
                    null).lease()).isEqualTo(Duration.ofSeconds(2));
        }
    }
}
