package com.example.orders;

import com.example.orders.billing.Invoice;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyStores;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.kafka.RecordOutcome;

/**
 * A modular application: each store is found by name through ServiceLoader, runs one piece of work twice with
 * one key, and must run it once; a Kafka record handled twice must be processed once. Any other outcome ends
 * the program with an exception (and the build with a failure).
 */
public final class Main {

    /** What the work returns, and what a replay must decode. */
    public record Order(String id, int quantity) {
    }

    public static void main(String[] args) throws Exception {
        check(Main.class.getModule().isNamed(), "the application runs on the module path");
        check(System.getProperty("java.class.path", "").isEmpty(), "nothing on the class path");
        check("org.idempotency.core".equals(Idempotency.class.getModule().getName()), "the core is a named module");
        List<String> providers = IdempotencyStores.availableProviders(Main.class.getClassLoader());
        check(providers.containsAll(List.of("memory", "redis")), "both providers are found, not " + providers);

        String run = UUID.randomUUID().toString();
        String redis = System.getenv().getOrDefault("IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379");
        runTwice(Map.of("idempotency.store", "memory"));
        runTwice(Map.of("idempotency.store", "redis",
                "idempotency.redis.address", redis,
                "idempotency.redis.key-prefix", "jpms-consumer-" + run + ":"));
        kafkaRecordTwice();
        closedPackageRefused();
        System.out.println("JPMS consumer: every check passed on the module path");
    }

    private static void runTwice(Map<String, String> settings) throws Exception {
        IdempotencyStore store = IdempotencyStores.fromSettings(ProviderSettings.of(settings));
        String module = store.getClass().getModule().getName();
        AtomicInteger runs = new AtomicInteger();
        try (Idempotency idempotency = Idempotency.builder(store).retention(Duration.ofMinutes(5)).build()) {
            IdempotentOperation<Order> place = idempotency.operation("place-order", Order.class);
            Order first = place.execute("order-1", "hash-1", () -> new Order("o-" + runs.incrementAndGet(), 2));
            Order again = place.execute("order-1", "hash-1", () -> new Order("o-" + runs.incrementAndGet(), 2));
            check(runs.get() == 1 && again.equals(first), "the work ran once and the replay is equal, not "
                    + runs.get() + " runs, " + first + " then " + again);
        } finally {
            if (store instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
        System.out.println("JPMS consumer: store '" + settings.get("idempotency.store") + "' from module " + module
                + ": the work ran once, the duplicate got the stored result");
    }

    private static void kafkaRecordTwice() throws Exception {
        AtomicInteger shipped = new AtomicInteger();
        IdempotencyStore store = IdempotencyStores.fromSettings(ProviderSettings.of(Map.of("idempotency.store", "memory")));
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                    .<String, String>builder(idempotency, "ship-orders", record -> shipped.incrementAndGet())
                    .build();
            ConsumerRecord<String, String> record = new ConsumerRecord<>("orders", 0, 42L, "o-1", "{\"id\":\"o-1\"}");
            RecordOutcome first = handler.handle(record);
            RecordOutcome again = handler.handle(record);
            check(first == RecordOutcome.PROCESSED && again == RecordOutcome.DUPLICATE && shipped.get() == 1,
                    "a redelivered record is a duplicate, not " + first + ", " + again + ", shipped " + shipped);
            System.out.println("JPMS consumer: Kafka handler from module "
                    + IdempotentRecordHandler.class.getModule().getName() + ": the redelivered record was a duplicate");
        }
    }

    /** A result type in a package not opened to Jackson is refused when the operation is created, naming the fix. */
    private static void closedPackageRefused() {
        IdempotencyStore store = IdempotencyStores.fromSettings(
                ProviderSettings.of(Map.of("idempotency.store", "memory")));
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            try {
                idempotency.operation("bill", Invoice.class);
                throw new IllegalStateException("Expected: a result type in a package not opened to Jackson is"
                        + " refused");
            } catch (IdempotencyConfigurationException refused) {
                check(refused.getMessage().contains(
                        "'opens com.example.orders.billing to com.fasterxml.jackson.databind;'"),
                        "the refusal names the opens clause to add, not: " + refused.getMessage());
            }
        }
        System.out.println("JPMS consumer: a result type in a package not opened to Jackson is refused up front");
    }

    private static void check(boolean condition, String expectation) {
        if (!condition) {
            throw new IllegalStateException("Expected: " + expectation);
        }
    }
}
