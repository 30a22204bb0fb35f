package org.idempotency.boot3;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.redis.RedisIdempotencyStore;
import org.idempotency.spring.Idempotent;
import org.idempotency.spring.TransactionalCompletion;
import org.idempotency.spring.boot.IdempotencyAutoConfiguration;
import org.idempotency.spring.boot.IdempotencyActuatorAutoConfiguration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.util.AopTestUtils;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * The starter on Spring Boot 3.5 (Spring Framework 6.2, Jackson 2), over the real PostgreSQL and Redis: the store
 * chosen from the context, the codec on the application's ObjectMapper with a java.time result, a controller keyed
 * by the header with a transactional replay, problem+json, and the Boot 3 health indicator.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = Boot3ApplicationTest.App.class)
class Boot3ApplicationTest {

    static final String SCHEMA = TestServices.unique("boot3");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestServices.execute("CREATE SCHEMA " + SCHEMA,
                "CREATE TABLE " + SCHEMA + ".orders (id bigserial PRIMARY KEY, item text NOT NULL)");
        registry.add("spring.datasource.url", () -> TestServices.postgresUrl()
                + (TestServices.postgresUrl().contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA);
        registry.add("idempotency.jdbc.table", () -> SCHEMA + ".idempotency_records");
        registry.add("management.endpoint.health.show-details", () -> "always");
    }

    @AfterAll
    static void dropSchema() {
        TestServices.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
    }

    /** A request. */
    public record OrderRequest(String item) {
    }

    /** A result with a java.time value. */
    public record Order(long id, String item, Instant at) {
    }

    /** The application: no component scan. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        Orders orders(JdbcTemplate jdbc) {
            return new Orders(jdbc);
        }
    }

    @RestController
    static class Orders {
        final JdbcTemplate jdbc;
        final AtomicInteger runs = new AtomicInteger();

        Orders(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @PostMapping("/orders")
        @Transactional
        @Idempotent
        public Order create(@RequestBody OrderRequest request) {
            runs.incrementAndGet();
            Long id = jdbc.queryForObject("INSERT INTO orders (item) VALUES (?) RETURNING id", Long.class,
                    request.item());
            return new Order(id, request.item(), Instant.parse("2026-11-30T10:15:30.123456Z"));
        }
    }

    @LocalServerPort
    int port;
    @Autowired
    Orders orders;
    @Autowired
    IdempotencyStore store;
    @Autowired
    ResultCodec codec;
    @Autowired
    TransactionalCompletion completion;
    @Autowired
    JdbcTemplate jdbc;

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> post(String body, String key) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/orders"))
                .header("Content-Type", "application/json").header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @DisplayName("runs on Spring Boot 3.5 with the SQL store, the Jackson 2 codec and the transactional completion")
    void configuration() {
        assertThat(SpringBootVersion.getVersion()).startsWith("3.5.");
        assertThat(store).isInstanceOf(JdbiIdempotencyStore.class);
        assertThat(codec).isInstanceOf(JacksonResultCodec.class);
        assertThat(completion).isNotNull();
    }

    @Test
    @DisplayName("a controller keyed by the header replays a java.time result equal, in one transaction per key")
    void replay() throws Exception {
        String key = UUID.randomUUID().toString();
        String item = "item-" + key;
        HttpResponse<String> first = post("{\"item\":\"" + item + "\"}", key);
        HttpResponse<String> again = post("{\"item\":\"" + item + "\"}", key);
        HttpResponse<String> reused = post("{\"item\":\"other\"}", key);

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(again.body()).isEqualTo(first.body()).contains("2026-11-30T10:15:30.123456Z");
        assertThat(again.headers().firstValue("Idempotent-Replayed")).contains("true");
        assertThat(reused.statusCode()).isEqualTo(422);
        assertThat(reused.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(reused.body()).contains("idempotency-key-reused");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM orders WHERE item = ?", Integer.class, item))
                .isEqualTo(1);
        assertThat(AopTestUtils.<Orders>getTargetObject(orders).runs.get()).isPositive();
    }

    @Test
    @DisplayName("the store's health is in Boot 3's health endpoint")
    void health() throws Exception {
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/actuator/health")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.body()).contains("\"idempotency\":{\"status\":\"UP\"");
    }

    @Test
    @DisplayName("the Redis store is chosen for a RedissonClient")
    void redis() {
        Config config = new Config();
        config.useSingleServer().setAddress(TestServices.redisAddress());
        RedissonClient redisson = Redisson.create(config);
        try {
            new ApplicationContextRunner()
                    .withConfiguration(AutoConfigurations.of(IdempotencyAutoConfiguration.class,
                            IdempotencyActuatorAutoConfiguration.class))
                    .withBean(RedissonClient.class, () -> redisson, definition -> definition.setDestroyMethodName(""))
                    .withPropertyValues("idempotency.redis.key-prefix=" + SCHEMA + ":")
                    .run(context -> {
                        assertThat(context).hasSingleBean(RedisIdempotencyStore.class);
                        assertThat(context.getBean(org.idempotency.core.Idempotency.class)
                                .operation("boot3", String.class).execute("k", "h", () -> "v")).isEqualTo("v");
                    });
        } finally {
            redisson.getKeys().deleteByPattern(SCHEMA + ":*");
            redisson.shutdown();
        }
    }
}
