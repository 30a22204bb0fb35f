package org.idempotency.examples;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyException;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.JsonFingerprint;

/**
 * A first look at the library on the embedded in-memory store: a first call, its replay, a key reused with
 * another request, and a duplicate that arrives while the first call still runs. Prints what happens.
 */
public final class Demo {

    /** The result type of the demo's operation. */
    public record Order(String id, String product, int quantity) {
    }

    private final PrintStream out;
    private final AtomicInteger ordersCreated = new AtomicInteger();

    Demo(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        new Demo(System.out).run();
    }

    void run() throws Exception {
        try (Idempotency idempotency = Idempotency.builder(InMemoryIdempotencyStore.create()).build()) {
            IdempotentOperation<Order> createOrder = idempotency.operation("create-order", Order.class);
            String body = "{\"product\": \"book\", \"quantity\": 1}";
            String hash = JsonFingerprint.defaults().hash(body);

            out.println("1. First call with key 'order-1':");
            Order first = createOrder.execute("order-1", hash, () -> create("book", 1));
            out.println("   -> ran the work, created " + first + " (orders created: " + ordersCreated + ")");

            out.println("2. Retry with the same key and the same request (formatted differently):");
            String sameBody = "{\"quantity\":1,\"product\":\"book\"}";
            Order replay = createOrder.execute("order-1", JsonFingerprint.defaults().hash(sameBody),
                    () -> create("book", 1));
            out.println("   -> replayed " + replay + " without running the work (orders created: "
                    + ordersCreated + ")");

            out.println("3. Same key, different request:");
            String otherHash = JsonFingerprint.defaults().hash("{\"product\": \"pen\", \"quantity\": 5}");
            try {
                createOrder.execute("order-1", otherHash, () -> create("pen", 5));
            } catch (IdempotencyException e) {
                out.println("   -> refused with HTTP " + e.httpStatus() + ": " + e.getMessage());
            }

            out.println("4. A duplicate while the first call for key 'order-2' is still running:");
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch finish = new CountDownLatch(1);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Order> slow = pool.submit(() -> createOrder.execute("order-2", hash, () -> {
                    running.countDown();
                    await(finish);
                    return create("book", 1);
                }));
                await(running);
                try {
                    createOrder.execute("order-2", hash, () -> create("book", 1));
                } catch (IdempotencyException e) {
                    out.println("   -> told to retry later, HTTP " + e.httpStatus() + ": " + e.getMessage());
                }
                finish.countDown();
                out.println("   -> the first call finished with " + slow.get(10, TimeUnit.SECONDS)
                        + " (orders created: " + ordersCreated + ")");
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private Order create(String product, int quantity) {
        return new Order("ord-" + ordersCreated.incrementAndGet(), product, quantity);
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the demo's slow call did not progress within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
