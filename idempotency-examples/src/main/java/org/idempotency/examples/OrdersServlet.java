package org.idempotency.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.examples.OrderService.Order;
import org.idempotency.examples.OrderService.OrderRequest;
import org.idempotency.examples.OrderService.Placed;
import org.idempotency.servlet.IdempotencyFilter;

/**
 * The HTTP layer of the demo: {@code POST /orders} places an order (the filter in front of it has already
 * dealt with the {@code Idempotency-Key}), {@code GET /orders} lists the caller's orders and
 * {@code GET /orders/{id}} shows one. The caller is the authenticated principal.
 */
final class OrdersServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final transient OrderService orders;

    OrdersServlet(OrderService orders) {
        this.orders = orders;
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        if (request.getPathInfo() != null && !request.getPathInfo().equals("/")) {
            problem(response, 404, "Not Found", "Orders are placed with POST /orders.");
            return;
        }
        OrderRequest order;
        try {
            order = JSON.readValue(request.getInputStream(), OrderRequest.class);
        } catch (JsonProcessingException e) {
            problem(response, 400, "Bad Request", "The body must be an order such as"
                    + " {\"product\":\"book\",\"quantity\":1}: " + e.getOriginalMessage());
            return;
        }
        String key = (String) request.getAttribute(IdempotencyFilter.KEY_ATTRIBUTE);
        Placed placed;
        try {
            placed = orders.place(request.getUserPrincipal().getName(), order, key);
        } catch (IllegalArgumentException e) {
            problem(response, 400, "Bad Request", "Invalid order: " + e.getMessage() + ".");
            return;
        } catch (IdempotencyInProgressException e) {
            response.setHeader("Retry-After", Long.toString(Math.max(1, e.retryAfter().toSeconds())));
            problem(response, 409, "Conflict", "The same order is still being placed; retry shortly.");
            return;
        } catch (IdempotencyException e) {
            problem(response, e.httpStatus(), "Order not placed", "The order could not be placed"
                    + " idempotently (" + e.getClass().getSimpleName() + ").");
            return;
        }
        if (placed.replayed()) {
            // the business layer recognised the order (a client without a key sent it again)
            response.setHeader(IdempotencyFilter.REPLAYED_HEADER, "true");
        }
        response.setStatus(201);
        response.setHeader("Location", "/orders/" + placed.order().id());
        json(response, placed.order());
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String customer = request.getUserPrincipal().getName();
        String path = request.getPathInfo();
        if (path == null || path.equals("/")) {
            json(response, orders.ordersOf(customer));
            return;
        }
        Order order = orders.find(customer, path.substring(1));
        if (order == null) {
            problem(response, 404, "Not Found", "No order " + path.substring(1) + " for " + customer + ".");
            return;
        }
        json(response, order);
    }

    private static void json(HttpServletResponse response, Object value) throws IOException {
        response.setContentType("application/json");
        response.getOutputStream().write(JSON.writeValueAsBytes(value));
    }

    private static void problem(HttpServletResponse response, int status, String title, String detail)
            throws IOException {
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", "about:blank");
        problem.put("title", title);
        problem.put("status", status);
        problem.put("detail", detail);
        response.setStatus(status);
        response.setContentType("application/problem+json");
        response.getOutputStream().write(JSON.writeValueAsBytes(problem));
    }
}
