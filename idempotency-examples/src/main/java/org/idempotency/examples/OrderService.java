package org.idempotency.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.JsonFingerprint;
import org.jspecify.annotations.Nullable;

/**
 * The business layer of the demo: places orders, idempotently on its own, whatever the HTTP layer did. With a
 * client key the order is keyed by the customer and that key; without one the service derives a key from
 * the customer, the day and the order itself (the seed design's server-side key), so an identical order sent
 * twice the same day by a client that sends no key is placed once.
 *
 * <p>Orders live in memory. Thread-safe.
 */
public final class OrderService {

    /** What a customer asks for. */
    public record OrderRequest(String product, int quantity, @Nullable String reference) {
    }

    /** A placed order. */
    public record Order(String id, String customer, String product, int quantity, @Nullable String reference) {
    }

    /** The outcome of {@link #place}: the order, and whether it was placed earlier (a replay). */
    public record Placed(Order order, boolean replayed) {
    }

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final IdempotentOperation<Order> placeOrder;
    private final Clock clock;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<String, Order> orders = new ConcurrentHashMap<>();
    private final AtomicReference<@Nullable Hold> nextHold = new AtomicReference<>();

    public OrderService(Idempotency idempotency, Clock clock) {
        this.placeOrder = idempotency.operation("place-order", Order.class);
        this.clock = clock;
    }

    /**
     * Places an order once per key.
     *
     * @param customer the authenticated customer
     * @param request the order
     * @param clientKey the client's idempotency key, or {@code null} to derive one from the order
     * @throws IllegalArgumentException if the order is invalid
     * @throws org.idempotency.api.IdempotencyException for a key reused with another order, or an order still
     *     being placed
     */
    public Placed place(String customer, OrderRequest request, @Nullable String clientKey) {
        if (request.product() == null || request.product().isBlank()) {
            throw new IllegalArgumentException("product is required");
        }
        if (request.quantity() < 1 || request.quantity() > 100) {
            throw new IllegalArgumentException("quantity must be 1 to 100, was " + request.quantity());
        }
        String canonical = JsonFingerprint.defaults().canonicalize(json(request));
        String key = clientKey != null
                ? IdempotencyKeys.derive(customer, "client-key", clientKey.getBytes(StandardCharsets.UTF_8))
                : IdempotencyKeys.derive(customer, "order-of-" + LocalDate.now(clock),
                        canonical.getBytes(StandardCharsets.UTF_8));
        String requestHash = JsonFingerprint.defaults().hash(canonical);
        try (Execution<Order> execution = placeOrder.begin(key, requestHash)) {
            if (execution.isReplay()) {
                return new Placed(execution.replayedResult(), true);
            }
            Order order = charge(customer, request);
            execution.complete(order);
            return new Placed(order, false);
        }
    }

    /** A customer's orders, oldest first. */
    public List<Order> ordersOf(String customer) {
        return orders.values().stream().filter(order -> order.customer().equals(customer))
                .sorted((a, b) -> Integer.compare(number(a), number(b))).toList();
    }

    /** An order by id, if it belongs to the customer. */
    public @Nullable Order find(String customer, String id) {
        Order order = orders.get(id);
        return order != null && order.customer().equals(customer) ? order : null;
    }

    /** How many orders were placed, by everyone. */
    public int placed() {
        return orders.size();
    }

    /**
     * Makes the next order wait at the payment step until released: the demo's stand-in for a slow payment
     * provider, so that a duplicate can arrive while the first request runs.
     */
    public Hold holdNextPayment() {
        Hold hold = new Hold();
        nextHold.set(hold);
        return hold;
    }

    private Order charge(String customer, OrderRequest request) {
        Hold hold = nextHold.getAndSet(null);
        if (hold != null) {
            hold.reached.countDown();
            Hold.await(hold.released);
        }
        Order order = new Order("ord-" + ids.incrementAndGet(), customer, request.product(), request.quantity(),
                request.reference());
        orders.put(order.id(), order);
        return order;
    }

    private static int number(Order order) {
        return Integer.parseInt(order.id().substring("ord-".length()));
    }

    private static byte[] json(OrderRequest request) {
        try {
            return JSON.writeValueAsBytes(request);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an order request always serializes", e);
        }
    }

    /** A payment held back until {@link #release()}. */
    public static final class Hold {
        private final CountDownLatch reached = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);

        /** Waits until an order reaches the held payment. */
        public void awaitReached() {
            await(reached);
        }

        /** Lets the held payment go on. */
        public void release() {
            released.countDown();
        }

        private static void await(CountDownLatch latch) {
            try {
                if (!latch.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the held order did not move on within 30 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while holding an order", e);
            }
        }
    }
}
