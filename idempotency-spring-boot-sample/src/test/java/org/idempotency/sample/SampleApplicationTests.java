package org.idempotency.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.redis.RedisIdempotencyStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The sample application, started on a random port over the real Redis and the real PostgreSQL (one context
 * each), driven over HTTP: the filter replays a retried request, the service places one order per reference
 * whatever the keys, a key reused with another order is refused. The guide shows the application verbatim.
 */
class SampleApplicationTests {

    static final String TABLE = TestServices.unique("sample");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", TestServices::postgresUrl);
        registry.add("idempotency.jdbc.table", () -> TABLE);
        registry.add("idempotency.redis.key-prefix", () -> TABLE + ":");
    }

    @AfterAll
    static void dropTable() {
        TestServices.execute("DROP TABLE IF EXISTS " + TABLE + " CASCADE", "DROP SEQUENCE IF EXISTS " + TABLE
                + "_fencing_seq");
    }

    abstract static class Scenario {
        @LocalServerPort
        int port;
        @Autowired
        IdempotencyStore store;

        private final HttpClient http = HttpClient.newHttpClient();

        HttpResponse<String> order(String customer, String body, String key) throws Exception {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/orders"))
                    .header("Content-Type", "application/json").header("X-Customer", customer)
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            if (key != null) {
                request.header("Idempotency-Key", key);
            }
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        }

        @Test
        @DisplayName("a retried request is replayed by the filter, and a new key for the same order places nothing")
        void ordersOnce() throws Exception {
            String reference = "ref-" + UUID.randomUUID();
            String body = "{\"product\":\"book\",\"quantity\":2,\"reference\":\"" + reference + "\"}";
            String key = UUID.randomUUID().toString();

            HttpResponse<String> first = order("alice", body, key);
            HttpResponse<String> retry = order("alice", body, key);
            HttpResponse<String> newKey = order("alice", body, UUID.randomUUID().toString());
            HttpResponse<String> noKey = order("alice", body, null);

            assertThat(first.statusCode()).isEqualTo(201);
            assertThat(first.body()).contains("\"customer\":\"alice\"").contains("\"product\":\"book\"");
            assertThat(retry.body()).isEqualTo(first.body());
            assertThat(retry.headers().firstValue("Idempotent-Replayed")).contains("true");
            assertThat(retry.headers().firstValue("Location")).isEqualTo(first.headers().firstValue("Location"));
            assertThat(newKey.body()).as("the service replays the order of this reference").isEqualTo(first.body());
            assertThat(noKey.body()).isEqualTo(first.body());
        }

        @Test
        @DisplayName("the same key with another order is refused with 422 problem+json")
        void keyReused() throws Exception {
            String key = UUID.randomUUID().toString();
            order("bob", "{\"product\":\"pen\",\"quantity\":1,\"reference\":\"r-" + key + "\"}", key);

            HttpResponse<String> reused = order("bob", "{\"product\":\"ink\",\"quantity\":1,\"reference\":\"r2\"}", key);

            assertThat(reused.statusCode()).isEqualTo(422);
            assertThat(reused.body()).contains("idempotency-key-reused");
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
            properties = "idempotency.store=redis")
    @DisplayName("over Redis")
    class OverRedis extends Scenario {

        @TestConfiguration
        static class RedisClient {
            @Bean(destroyMethod = "shutdown")
            RedissonClient redisson() {
                Config config = new Config();
                config.useSingleServer().setAddress(TestServices.redisAddress());
                return Redisson.create(config);
            }
        }

        @Test
        @DisplayName("runs on the Redis store")
        void onRedis() {
            assertThat(store).isInstanceOf(RedisIdempotencyStore.class);
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
    @DisplayName("over PostgreSQL")
    class OverPostgres extends Scenario {

        @Test
        @DisplayName("runs on the SQL store, chosen from the DataSource")
        void onPostgres() {
            assertThat(store).isInstanceOf(JdbiIdempotencyStore.class);
        }
    }

    @Test
    @DisplayName("the guide shows the whole application, under 40 lines, and its one property, verbatim")
    void guide() throws IOException {
        String guide = Files.readString(Path.of("..", "docs", "spring.md"));
        String application = region(Path.of("src/main/java/org/idempotency/sample/OrderApplication.java"), "app");
        String properties = region(Path.of("src/main/resources/application.properties"), "properties");

        assertThat(application.lines().count()).isLessThan(40);
        assertThat(guide).contains(application).contains(properties);
    }

    private static String region(Path file, String tag) throws IOException {
        String source = Files.readString(file);
        String start = "tag::" + tag + "[]\n";
        int from = source.indexOf(start) + start.length();
        int to = source.lastIndexOf("\n", source.indexOf("end::" + tag + "[]"));
        return source.substring(from, to).stripTrailing();
    }
}
