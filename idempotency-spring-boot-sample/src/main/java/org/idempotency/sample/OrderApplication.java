package org.idempotency.sample;

import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.spring.Idempotent;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Service;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/**
 * The demo's order service as a Spring Boot application: the service is idempotent by the customer's order
 * reference ({@code @Idempotent}), and the starter's filter makes the HTTP endpoint safe to retry with an
 * {@code Idempotency-Key} ({@code idempotency.http.url-patterns=/orders}).
 */
// tag::app[]
@SpringBootApplication
public class OrderApplication {
    public static void main(String[] args) {
        SpringApplication.run(OrderApplication.class, args);
    }

    public record OrderRequest(String product, int quantity, String reference) { }

    public record Order(String id, String customer, String product, int quantity) { }

    @Service
    public static class OrderService {
        private final AtomicInteger ids = new AtomicInteger();

        @Idempotent(key = "#customer + ':' + #request.reference()")
        public Order place(String customer, OrderRequest request) {
            return new Order("ord-" + ids.incrementAndGet(), customer, request.product(), request.quantity());
        }
    }

    @RestController
    public static class OrderController {
        private final OrderService orders;

        public OrderController(OrderService orders) {
            this.orders = orders;
        }

        @PostMapping("/orders")
        public ResponseEntity<Order> place(@RequestHeader("X-Customer") String customer,
                @RequestBody OrderRequest request) {
            Order order = orders.place(customer, request);
            return ResponseEntity.created(URI.create("/orders/" + order.id())).body(order);
        }
    }
}
// end::app[]
