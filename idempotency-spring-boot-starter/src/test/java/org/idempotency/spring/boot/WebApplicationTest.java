package org.idempotency.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.spring.Idempotent;
import org.idempotency.spring.jackson.Jackson3ResultCodec;
import org.idempotency.api.ResultCodec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.util.AopTestUtils;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The starter in a running Spring Boot 4 web application (Tomcat on a random port, Spring Security, Actuator,
 * PostgreSQL through JdbcTemplate): {@code @Idempotent} controllers keyed by the {@code Idempotency-Key} header,
 * problem+json answers, principal scoping, the filter, transactional completion, health and the endpoint.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = WebApplicationTest.App.class)
class WebApplicationTest {

    static final String SCHEMA = TestServices.unique("boot_web");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestServices.execute("CREATE SCHEMA " + SCHEMA,
                "CREATE TABLE " + SCHEMA + ".orders (id bigserial PRIMARY KEY, item text NOT NULL)");
        registry.add("spring.datasource.url", () -> TestServices.postgresUrl()
                + (TestServices.postgresUrl().contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA);
        registry.add("idempotency.jdbc.table", () -> SCHEMA + ".idempotency_records");
        registry.add("idempotency.http.url-patterns", () -> "/filtered/*");
        registry.add("management.endpoints.web.exposure.include", () -> "health,idempotency");
        registry.add("management.endpoint.idempotency.access", () -> "unrestricted");
        registry.add("management.endpoint.health.show-details", () -> "always");
    }

    @AfterAll
    static void dropSchema() {
        TestServices.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
    }

    /** What a client asks for. */
    public record OrderRequest(String item) {
    }

    /** A placed order. */
    public record Order(long id, String item, String by) {
    }

    /** The application: no component scan, which would take the starter's own configuration classes for its own. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        SecurityFilterChain security(HttpSecurity http) throws Exception {
            return http.authorizeHttpRequests(requests -> requests.anyRequest().authenticated())
                    .httpBasic(Customizer.withDefaults())
                    .csrf(csrf -> csrf.disable())
                    .build();
        }

        @Bean
        InMemoryUserDetailsManager users() {
            return new InMemoryUserDetailsManager(
                    User.withUsername("alice").password("{noop}a").roles("USER").build(),
                    User.withUsername("bob").password("{noop}b").roles("USER").build());
        }

        @Bean
        Orders orders(JdbcTemplate jdbc) {
            return new Orders(jdbc);
        }
    }

    @RestController
    static class Orders {
        final JdbcTemplate jdbc;
        final AtomicInteger filtered = new AtomicInteger();
        volatile CountDownLatch hold = new CountDownLatch(0);
        volatile CountDownLatch reached = new CountDownLatch(0);

        Orders(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @PostMapping("/orders")
        @Transactional
        @Idempotent(replayHeaders = "ETag")
        public ResponseEntity<Order> create(@RequestBody OrderRequest request, java.security.Principal principal)
                throws InterruptedException {
            Long id = jdbc.queryForObject("INSERT INTO orders (item) VALUES (?) RETURNING id", Long.class,
                    request.item());
            if (request.item().equals("slow")) {
                reached.countDown();
                hold.await(30, TimeUnit.SECONDS);
            }
            if (request.item().equals("broken")) {
                throw new IllegalStateException("the order cannot be placed");
            }
            return ResponseEntity.created(URI.create("/orders/" + id)).eTag("\"v" + id + "\"")
                    .body(new Order(id, request.item(), principal.getName()));
        }

        @PostMapping("/receipts")
        @ResponseStatus(HttpStatus.CREATED)
        @Idempotent
        public Order receipt(@RequestBody OrderRequest request) {
            return new Order(System.nanoTime(), request.item(), "receipts");
        }

        @PostMapping("/filtered/echo")
        public String echo(@RequestBody String body, java.security.Principal principal) {
            return principal.getName() + ":" + body + ":" + filtered.incrementAndGet();
        }
    }

    @LocalServerPort
    int port;
    @Autowired
    Orders orders;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    ResultCodec codec;
    @Autowired
    org.springframework.context.ApplicationContext context;

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> post(String user, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Basic " + Base64.getEncoder()
                        .encodeToString((user + ":" + user.charAt(0)).getBytes(StandardCharsets.UTF_8)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(String method, String user, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Basic " + Base64.getEncoder()
                        .encodeToString((user + ":" + user.charAt(0)).getBytes(StandardCharsets.UTF_8)))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private int rows(String item) {
        return jdbc.queryForObject("SELECT count(*) FROM orders WHERE item = ?", Integer.class, item);
    }

    @Test
    @DisplayName("a retry with the same Idempotency-Key replays status, body, Location and ETag; one row is written")
    void headerKeyReplay() throws Exception {
        String key = UUID.randomUUID().toString();
        String item = "book-" + key;
        HttpResponse<String> first = post("alice", "/orders", "{\"item\":\"" + item + "\"}", "Idempotency-Key", key);
        HttpResponse<String> retry = post("alice", "/orders", "{\"item\":\"" + item + "\"}",
                "Idempotency-Key", "\"" + key + "\"");

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(retry.statusCode()).isEqualTo(201);
        assertThat(retry.body()).isEqualTo(first.body());
        assertThat(retry.headers().firstValue("Location")).isEqualTo(first.headers().firstValue("Location"));
        assertThat(retry.headers().firstValue("ETag")).isEqualTo(first.headers().firstValue("ETag"));
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).contains("true");
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(rows(item)).isEqualTo(1);
        assertThat(codec).as("the codec, with these mappers: %s", java.util.Arrays.toString(
                context.getBeanNamesForType(tools.jackson.databind.ObjectMapper.class)))
                .isInstanceOf(Jackson3ResultCodec.class);
    }

    @Test
    @DisplayName("a missing, malformed or doubled header is answered 400 problem+json, as the filter answers it")
    void badHeaders() throws Exception {
        HttpResponse<String> missing = post("alice", "/orders", "{\"item\":\"x\"}");
        HttpResponse<String> malformed = post("alice", "/orders", "{\"item\":\"x\"}", "Idempotency-Key", "\"open");
        HttpResponse<String> doubled = post("alice", "/orders", "{\"item\":\"x\"}", "Idempotency-Key", "a",
                "Idempotency-Key", "b");

        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(missing.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(missing.body()).contains("\"code\":\"idempotency-key-missing\"");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.body()).contains("\"code\":\"idempotency-key-malformed\"")
                .contains("no closing double quote");
        assertThat(doubled.statusCode()).isEqualTo(400);
        assertThat(doubled.body()).contains("must carry one Idempotency-Key field");
        assertThat(rows("x")).isZero();
    }

    @Test
    @DisplayName("the same key with another body is 422; a key still running is 409 with Retry-After")
    void reuseAndInProgress() throws Exception {
        String key = UUID.randomUUID().toString();
        post("alice", "/orders", "{\"item\":\"a-" + key + "\"}", "Idempotency-Key", key);
        HttpResponse<String> reused = post("alice", "/orders", "{\"item\":\"b-" + key + "\"}", "Idempotency-Key", key);
        assertThat(reused.statusCode()).isEqualTo(422);
        assertThat(reused.body()).contains("\"code\":\"idempotency-key-reused\"").contains("\"status\":422");

        String slowKey = UUID.randomUUID().toString();
        Orders target = AopTestUtils.getTargetObject(orders);
        target.reached = new CountDownLatch(1);
        target.hold = new CountDownLatch(1);
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return post("alice", "/orders", "{\"item\":\"slow\"}", "Idempotency-Key", slowKey);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            assertThat(target.reached.await(30, TimeUnit.SECONDS)).isTrue();
            HttpResponse<String> duplicate = post("alice", "/orders", "{\"item\":\"slow\"}", "Idempotency-Key", slowKey);
            assertThat(duplicate.statusCode()).isEqualTo(409);
            assertThat(duplicate.headers().firstValue("Retry-After")).isPresent();
            assertThat(duplicate.body()).contains("\"code\":\"request-in-progress\"");
        } finally {
            target.hold.countDown();
        }
        assertThat(slow.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    }

    @Test
    @DisplayName("keys are scoped by the principal: the same key from another user is another request")
    void principalScoping() throws Exception {
        String key = UUID.randomUUID().toString();
        String item = "shared-" + key;
        HttpResponse<String> alice = post("alice", "/orders", "{\"item\":\"" + item + "\"}", "Idempotency-Key", key);
        HttpResponse<String> bob = post("bob", "/orders", "{\"item\":\"" + item + "\"}", "Idempotency-Key", key);

        assertThat(alice.body()).contains("\"by\":\"alice\"");
        assertThat(bob.body()).contains("\"by\":\"bob\"");
        assertThat(rows(item)).isEqualTo(2);
    }

    @Test
    @DisplayName("a failing handler rolls its row back and releases the key; a plain result is replayed marked")
    void failureAndPlainResult() throws Exception {
        String key = UUID.randomUUID().toString();
        HttpResponse<String> failed = post("alice", "/orders", "{\"item\":\"broken\"}", "Idempotency-Key", key);
        assertThat(failed.statusCode()).isEqualTo(500);
        assertThat(rows("broken")).isZero();

        String receiptKey = UUID.randomUUID().toString();
        HttpResponse<String> receipt = post("alice", "/receipts", "{\"item\":\"r\"}", "Idempotency-Key", receiptKey);
        HttpResponse<String> again = post("alice", "/receipts", "{\"item\":\"r\"}", "Idempotency-Key", receiptKey);
        assertThat(receipt.statusCode()).isEqualTo(201);
        assertThat(again.statusCode()).isEqualTo(201);
        assertThat(again.body()).isEqualTo(receipt.body());
        assertThat(again.headers().firstValue("Idempotent-Replayed")).contains("true");
    }

    @Test
    @DisplayName("the filter covers its URL patterns, scoped by Spring Security's principal")
    void filterScopedByPrincipal() throws Exception {
        String key = UUID.randomUUID().toString();
        HttpResponse<String> alice = post("alice", "/filtered/echo", "hello", "Idempotency-Key", key);
        HttpResponse<String> aliceAgain = post("alice", "/filtered/echo", "hello", "Idempotency-Key", key);
        HttpResponse<String> bob = post("bob", "/filtered/echo", "hello", "Idempotency-Key", key);

        assertThat(aliceAgain.body()).isEqualTo(alice.body()).startsWith("alice:hello:");
        assertThat(aliceAgain.headers().firstValue("Idempotent-Replayed")).contains("true");
        assertThat(bob.body()).startsWith("bob:hello:").isNotEqualTo(alice.body());
    }

    @Test
    @DisplayName("Actuator: the store's health, a key's record, and forgetting a completed key, behind authentication")
    void actuator() throws Exception {
        HttpResponse<String> health = send("GET", "alice", "/actuator/health");
        assertThat(health.body()).contains("\"idempotency\":{").contains("\"status\":\"UP\"");

        String key = UUID.randomUUID().toString();
        post("alice", "/receipts", "{\"item\":\"seen\"}", "Idempotency-Key", key);
        String stored = IdempotencyKeysForTests.scopedForPrincipal("alice", key);
        HttpResponse<String> record = send("GET", "alice",
                "/actuator/idempotency/Orders.receipt/" + java.net.URLEncoder.encode(stored, StandardCharsets.UTF_8));
        assertThat(record.statusCode()).isEqualTo(200);
        assertThat(record.body()).contains("\"status\":\"COMPLETED\"").contains("\"resultBytes\":");
        HttpResponse<String> forget = send("DELETE", "alice",
                "/actuator/idempotency/Orders.receipt/" + java.net.URLEncoder.encode(stored, StandardCharsets.UTF_8));
        assertThat(forget.body()).contains("\"forgotten\":true").contains("was COMPLETED and is forgotten");
        HttpResponse<String> gone = send("GET", "alice",
                "/actuator/idempotency/Orders.receipt/" + java.net.URLEncoder.encode(stored, StandardCharsets.UTF_8));
        assertThat(gone.statusCode()).isEqualTo(404);
        HttpResponse<String> again = send("DELETE", "alice",
                "/actuator/idempotency/Orders.receipt/" + java.net.URLEncoder.encode(stored, StandardCharsets.UTF_8));
        assertThat(again.body()).contains("\"forgotten\":false").contains("no record");

        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/actuator/idempotency/Orders.receipt/x")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }
}
