package org.idempotency.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.idempotency.servlet.IdempotencyFilter;
import org.jspecify.annotations.Nullable;

/**
 * The demo's client: plays each case against the order service with {@link HttpClient}, prints a transcript
 * of the requests and responses, and checks each outcome. Used by one thread.
 */
final class ScriptedClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final OrderService orders;
    private final PrintStream out;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private int step;
    private int requests;
    private int unexpected;

    ScriptedClient(URI base, OrderService orders, PrintStream out) {
        this.base = base;
        this.orders = orders;
        this.out = out;
    }

    /** A response as the client saw it. */
    record Exchange(int status, @Nullable String location, @Nullable String retryAfter, boolean replayed,
            String body) {

        String orderId() {
            try {
                JsonNode id = JSON.readTree(body).get("id");
                return id == null ? "?" : id.asText();
            } catch (IOException e) {
                return "?";
            }
        }
    }

    /** Plays the script; true if every outcome was the expected one. */
    boolean play() throws Exception {
        // keys and references unique to this run, so a persistent store never replays an earlier run
        String run = UUID.randomUUID().toString().substring(0, 8);
        String book = "{\"product\":\"book\",\"quantity\":1}";
        String firstKey = "\"" + run + "-order-1\"";

        heading("Alice places an order with a new Idempotency-Key");
        Exchange first = post("alice", firstKey, book);
        expect(first.status() == 201 && !first.replayed() && orders.placed() == 1,
                "order " + first.orderId() + " placed");

        heading("The answer was lost on the way; Alice retries with the same key and the same order");
        Exchange retry = post("alice", firstKey, book);
        expect(retry.status() == 201 && retry.replayed() && retry.body().equals(first.body())
                        && orders.placed() == 1,
                "the stored response is replayed, no second order");

        heading("Alice sends the same key with a different order");
        Exchange reused = post("alice", firstKey, "{\"product\":\"pen\",\"quantity\":5}");
        expect(reused.status() == 422 && orders.placed() == 1, "refused: a key belongs to one request");

        heading("Alice's next order waits for a slow payment; her client sends it again meanwhile");
        String slowKey = "\"" + run + "-order-2\"";
        String cake = "{\"product\":\"cake\",\"quantity\":2}";
        OrderService.Hold hold = orders.holdNextPayment();
        CompletableFuture<HttpResponse<String>> slow = http.sendAsync(request("alice", slowKey, cake),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        printRequest("alice", slowKey, cake);
        out.println("     (the payment is held until the duplicate has its answer)");
        hold.awaitReached();
        Exchange duplicate = post("alice", slowKey, cake);
        expect(duplicate.status() == 409 && duplicate.retryAfter() != null && orders.placed() == 1,
                "the duplicate is told the first is in progress, and when to retry");
        hold.release();
        out.println("   (the payment goes through; the first request answers)");
        Exchange slowDone = print(slow.get(30, TimeUnit.SECONDS));
        expect(slowDone.status() == 201 && orders.placed() == 2, "order " + slowDone.orderId() + " placed once");

        heading("Alice's client retries the duplicate, now that the first has answered");
        Exchange later = post("alice", slowKey, cake);
        expect(later.status() == 201 && later.replayed() && later.body().equals(slowDone.body()),
                "the stored response is replayed");

        heading("Bob happens to send Alice's first key and order");
        Exchange bob = post("bob", firstKey, book);
        expect(bob.status() == 201 && !bob.replayed() && bob.body().contains("\"customer\":\"bob\"")
                        && orders.placed() == 3,
                "Bob gets his own order " + bob.orderId() + ", never Alice's response");

        heading("A client that sends no key: the service derives one from customer, day and order");
        String tea = "{\"product\":\"tea\",\"quantity\":3,\"reference\":\"po-" + run + "\"}";
        Exchange noKey = post("alice", null, tea);
        expect(noKey.status() == 201 && !noKey.replayed() && orders.placed() == 4,
                "order " + noKey.orderId() + " placed");

        heading("The same client sends the same order again, still without a key");
        Exchange noKeyAgain = post("alice", null, tea);
        expect(noKeyAgain.status() == 201 && noKeyAgain.replayed()
                        && noKeyAgain.orderId().equals(noKey.orderId()) && orders.placed() == 4,
                "the order service recognises it: same order, none added");

        out.println();
        out.println(requests + " requests, " + orders.placed() + " orders placed: "
                + (unexpected == 0 ? "every outcome as expected." : unexpected + " UNEXPECTED outcome(s)."));
        out.flush();
        return unexpected == 0;
    }

    private void heading(String text) {
        out.println();
        out.println(++step + ". " + text);
    }

    private void expect(boolean asExpected, String outcome) {
        if (asExpected) {
            out.println("   ok: " + outcome + " (orders placed: " + orders.placed() + ")");
        } else {
            unexpected++;
            out.println("   UNEXPECTED: wanted \"" + outcome + "\" (orders placed: " + orders.placed() + ")");
        }
    }

    private Exchange post(String customer, @Nullable String key, String body)
            throws IOException, InterruptedException {
        printRequest(customer, key, body);
        return print(http.send(request(customer, key, body),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)));
    }

    private HttpRequest request(String customer, @Nullable String key, String body) {
        requests++;
        String credentials = customer + ":" + OrderServer.CUSTOMERS.get(customer);
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/orders"))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Basic "
                        + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (key != null) {
            request.header(IdempotencyFilter.HEADER, key);
        }
        return request.build();
    }

    private void printRequest(String customer, @Nullable String key, String body) {
        out.println("   > POST /orders as " + customer
                + (key == null ? ", no Idempotency-Key" : ", " + IdempotencyFilter.HEADER + ": " + key));
        out.println("     " + body);
    }

    private Exchange print(HttpResponse<String> response) {
        Exchange exchange = new Exchange(response.statusCode(),
                response.headers().firstValue("Location").orElse(null),
                response.headers().firstValue("Retry-After").orElse(null),
                response.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER).isPresent(),
                response.body());
        StringBuilder line = new StringBuilder("   < ").append(exchange.status()).append(' ')
                .append(reason(exchange.status()));
        if (exchange.location() != null) {
            line.append(", Location: ").append(exchange.location());
        }
        if (exchange.retryAfter() != null) {
            line.append(", Retry-After: ").append(exchange.retryAfter());
        }
        if (exchange.replayed()) {
            line.append(", ").append(IdempotencyFilter.REPLAYED_HEADER).append(": true");
        }
        out.println(line);
        out.println("     " + exchange.body());
        return exchange;
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 422 -> "Unprocessable Content";
            case 503 -> "Service Unavailable";
            default -> "";
        };
    }
}
