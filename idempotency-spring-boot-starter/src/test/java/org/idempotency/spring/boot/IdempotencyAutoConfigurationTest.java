package org.idempotency.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.idempotency.api.IdempotencyListener;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.SqlDatabase;
import org.idempotency.redis.RedisIdempotencyStore;
import org.idempotency.servlet.IdempotencyFilter;
import org.idempotency.spring.IdempotencyEngines;
import org.idempotency.spring.IdempotentBeanPostProcessor;
import org.idempotency.spring.JacksonRequestHasher;
import org.idempotency.spring.RequestHasher;
import org.idempotency.spring.TransactionalCompletion;
import org.idempotency.spring.boot.actuate.IdempotencyEndpoint;
import org.idempotency.spring.boot.actuate.IdempotencyHealthIndicator;
import org.idempotency.spring.boot.kafka.IdempotentConsumerLoops;
import org.idempotency.spring.jackson.Jackson3RequestHasher;
import org.idempotency.spring.jackson.Jackson3ResultCodec;
import org.idempotency.spring.jdbc.JdbiTransactionalCompletion;
import org.idempotency.spring.web.IdempotencyProblemHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.servlet.FilterRegistrationBean;

/**
 * The starter's auto-configuration, context by context (no server): what it configures from the context and the
 * properties, and that every bean it configures backs off when the application defines its own.
 */
@ExtendWith(OutputCaptureExtension.class)
class IdempotencyAutoConfigurationTest {

    private static final AutoConfigurations STARTER = AutoConfigurations.of(IdempotencyAutoConfiguration.class,
            IdempotencyWebAutoConfiguration.class, IdempotencyActuatorAutoConfiguration.class,
            IdempotencyKafkaAutoConfiguration.class, EndpointAutoConfiguration.class);

    private final ApplicationContextRunner runner = new ApplicationContextRunner().withConfiguration(STARTER);
    private final WebApplicationContextRunner web = new WebApplicationContextRunner().withConfiguration(STARTER);

    private static RedissonClient redisson;
    private static HikariDataSource postgres;
    private static final String TABLE = TestServices.unique("boot_records");

    @BeforeAll
    static void services() {
        Config config = new Config();
        config.useSingleServer().setAddress(TestServices.redisAddress());
        redisson = Redisson.create(config);
        postgres = TestServices.postgresPool("boot-autoconfig-" + TABLE, 4);
    }

    @AfterAll
    static void close() {
        redisson.shutdown();
        postgres.close();
        TestServices.execute("DROP TABLE IF EXISTS " + TABLE + " CASCADE", "DROP SEQUENCE IF EXISTS " + TABLE
                + "_fencing_seq");
    }

    @Nested
    @DisplayName("with nothing but the starter")
    class Defaults {

        @Test
        @DisplayName("the in-memory store, with a warning that it protects this instance only")
        void inMemoryWithWarning(CapturedOutput output) {
            runner.run(context -> {
                assertThat(context).hasSingleBean(InMemoryIdempotencyStore.class).hasSingleBean(Idempotency.class)
                        .hasSingleBean(IdempotencyEngines.class).hasSingleBean(IdempotentBeanPostProcessor.class)
                        .doesNotHaveBean(IdempotencyEndpoint.class).hasSingleBean(IdempotencyHealthIndicator.class)
                        .hasSingleBean(IdempotentConsumerLoops.class).doesNotHaveBean(TransactionalCompletion.class)
                        .doesNotHaveBean(IdempotencyFilter.class).doesNotHaveBean(IdempotencyProblemHandler.class);
                assertThat(context.getBean(ResultCodec.class)).isInstanceOf(JacksonResultCodec.class);
                assertThat(context.getBean(RequestHasher.class)).isInstanceOf(JacksonRequestHasher.class);
            });
            assertThat(output).contains("does NOT protect across instances");
        }

        @Test
        @DisplayName("the endpoint exists when exposed, like every Actuator endpoint, read-only unless opened")
        void endpointWhenExposed() {
            runner.withPropertyValues("management.endpoints.web.exposure.include=idempotency").run(context ->
                    assertThat(context).hasSingleBean(IdempotencyEndpoint.class));
            runner.withPropertyValues("management.endpoints.web.exposure.include=idempotency",
                    "management.endpoint.idempotency.access=NONE").run(context ->
                    assertThat(context).doesNotHaveBean(IdempotencyEndpoint.class));
        }

        @Test
        @DisplayName("an explicit memory store is not warned about")
        void explicitMemory(CapturedOutput output) {
            runner.withPropertyValues("idempotency.store=memory").run(context ->
                    assertThat(context).hasSingleBean(InMemoryIdempotencyStore.class));
            assertThat(output).doesNotContain("does NOT protect across instances");
        }

        @Test
        @DisplayName("the engine takes the idempotency.* properties")
        void properties() {
            runner.withPropertyValues("idempotency.lease=5s", "idempotency.retention=2h",
                    "idempotency.wait-for-in-progress=300ms", "idempotency.max-result-size=2KB").run(context -> {
                        Idempotency engine = context.getBean(Idempotency.class);
                        assertThat(engine.lease()).isEqualTo(Duration.ofSeconds(5));
                        assertThat(engine.retention()).isEqualTo(Duration.ofHours(2));
                        assertThat(context.getBean(IdempotencyEngines.class)
                                .engine(Duration.ofSeconds(1), null, null).retention()).isEqualTo(Duration.ofHours(2));
                    });
        }

        @Test
        @DisplayName("an unknown store name stops the start, naming the choices")
        void unknownStore() {
            runner.withPropertyValues("idempotency.store=mongo").run(context -> assertThat(context).hasFailed()
                    .getFailure().rootCause().hasMessageContaining("idempotency.store=mongo names no store")
                    .hasMessageContaining("redis, jdbi or memory"));
        }

        @Test
        @DisplayName("the Kafka consumer loops run only when asked to (the property turns them off)")
        void kafkaOff() {
            runner.withPropertyValues("idempotency.kafka.run-loops=false").run(context ->
                    assertThat(context).doesNotHaveBean(IdempotentConsumerLoops.class));
        }
    }

    @Nested
    @DisplayName("the store, from the context")
    class Stores {

        @Test
        @DisplayName("Redis when the application has a RedissonClient")
        void redis() {
            runner.withBean(RedissonClient.class, () -> redisson, definition -> definition.setDestroyMethodName(""))
                    .withPropertyValues("idempotency.redis.key-prefix=" + TABLE + ":").run(context -> {
                        assertThat(context).hasSingleBean(RedisIdempotencyStore.class);
                        String key = "k-" + UUID.randomUUID();
                        String result = context.getBean(Idempotency.class).operation("boot", String.class)
                                .execute(key, "h", () -> "stored");
                        assertThat(result).isEqualTo("stored");
                        assertThat(redisson.getKeys().countExists(TABLE + ":boot:" + key)).isEqualTo(1);
                    });
        }

        @Test
        @DisplayName("PostgreSQL when the application has a DataSource, with its schema and the transactions joined")
        void postgres() {
            runner.withBean(DataSource.class, () -> postgres, definition -> definition.setDestroyMethodName(""))
                    .withPropertyValues("idempotency.jdbc.table=" + TABLE).run(context -> {
                        assertThat(context).hasSingleBean(JdbiIdempotencyStore.class)
                                .hasSingleBean(JdbiTransactionalCompletion.class);
                        assertThat(context.getBean(JdbiIdempotencyStore.class).table()).isEqualTo(TABLE);
                        assertThat(context.getBean(Idempotency.class).operation("boot", Integer.class)
                                .execute("k-" + UUID.randomUUID(), "h", () -> 7)).isEqualTo(7);
                    });
        }

        @Test
        @DisplayName("MariaDB when the application's DataSource is MariaDB: its dialect, its schema, its transactions")
        void mariaDb() throws Exception {
            String table = TestServices.unique("boot_records_mariadb");
            try (HikariDataSource mariaDb = TestServices.mariaDbPool("boot-autoconfig-mariadb", 4)) {
                try {
                    runner.withBean(DataSource.class, () -> mariaDb, definition -> definition.setDestroyMethodName(""))
                            .withPropertyValues("idempotency.jdbc.table=" + table).run(context -> {
                                JdbiIdempotencyStore store = context.getBean(JdbiIdempotencyStore.class);
                                assertThat(store.database()).isEqualTo(SqlDatabase.MARIADB);
                                assertThat(context).hasSingleBean(JdbiTransactionalCompletion.class);
                                var operation = context.getBean(Idempotency.class).operation("boot", Integer.class);
                                String key = "k-" + UUID.randomUUID();
                                assertThat(operation.execute(key, "h", () -> 7)).isEqualTo(7);
                                assertThat(operation.execute(key, "h", () -> 8)).as("replayed").isEqualTo(7);
                            });
                } finally {
                    try (var connection = mariaDb.getConnection(); var statement = connection.createStatement()) {
                        statement.execute("DROP TABLE IF EXISTS " + table);
                        statement.execute("DROP SEQUENCE IF EXISTS " + table + "_fencing_seq");
                    }
                }
            }
        }

        @Test
        @DisplayName("both offered and none chosen stops the start and says how to choose; a choice settles it")
        void ambiguous() {
            ApplicationContextRunner both = runner
                    .withBean(RedissonClient.class, () -> redisson, definition -> definition.setDestroyMethodName(""))
                    .withBean(DataSource.class, () -> postgres, definition -> definition.setDestroyMethodName(""));
            both.run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                    .hasMessageContaining("idempotency store is ambiguous")
                    .hasMessageContaining("idempotency.store=redis or idempotency.store=jdbi"));
            both.withPropertyValues("idempotency.store=redis").run(context ->
                    assertThat(context).hasSingleBean(RedisIdempotencyStore.class)
                            .doesNotHaveBean(JdbiIdempotencyStore.class)
                            .doesNotHaveBean(TransactionalCompletion.class));
        }
    }

    @Nested
    @DisplayName("the codec and the request hashes")
    class Codecs {

        /** A result with a java.time value, written in the application's way. */
        public record Stamp(String id, Instant at) {
        }

        @Test
        @DisplayName("use the application's Jackson 3 mapper (Spring Boot 4), and keep java.time results")
        void jackson3() {
            runner.withConfiguration(AutoConfigurations.of(JacksonAutoConfiguration.class)).run(context -> {
                assertThat(context.getBean(ResultCodec.class)).isInstanceOf(Jackson3ResultCodec.class);
                assertThat(context.getBean(RequestHasher.class)).isInstanceOf(Jackson3RequestHasher.class);
                Stamp stamp = new Stamp("s", Instant.parse("2026-11-30T10:15:30.123456Z"));
                ResultCodec.Typed<Stamp> typed = context.getBean(ResultCodec.class).forType(TypeRef.of(Stamp.class));
                assertThat(typed.decode(typed.encode(stamp))).isEqualTo(stamp);
            });
        }

        @Test
        @DisplayName("use the application's Jackson 2 ObjectMapper when that is what it has")
        void jackson2() {
            runner.withBean(com.fasterxml.jackson.databind.ObjectMapper.class,
                    () -> com.fasterxml.jackson.databind.json.JsonMapper.builder().findAndAddModules().build())
                    .run(context -> {
                        assertThat(context.getBean(ResultCodec.class)).isInstanceOf(JacksonResultCodec.class);
                        assertThat(context.getBean(RequestHasher.class)).isInstanceOf(JacksonRequestHasher.class);
                    });
        }
    }

    @Nested
    @DisplayName("in a servlet web application")
    class Web {

        @Test
        @DisplayName("problem+json answers always; the filter only for configured URL patterns, after Spring Security")
        void filterForPatterns() {
            web.run(context -> assertThat(context).hasSingleBean(IdempotencyProblemHandler.class)
                    .doesNotHaveBean(IdempotencyFilter.class));
            web.withPropertyValues("idempotency.http.url-patterns[0]=/orders/*", "idempotency.http.url-patterns[1]=/pay")
                    .run(context -> {
                        assertThat(context).hasSingleBean(IdempotencyFilter.class);
                        FilterRegistrationBean<?> registration =
                                context.getBean("idempotencyFilterRegistration", FilterRegistrationBean.class);
                        assertThat(registration.getUrlPatterns()).containsExactly("/orders/*", "/pay");
                        assertThat(registration.getOrder()).isGreaterThan(-100);
                        assertThat(context.getBean(IdempotencyFilter.class).operation()).isEqualTo("http");
                    });
        }
    }

    @Nested
    @DisplayName("every bean backs off when the application defines its own")
    class BackOff {

        @Test
        @DisplayName("store, codec, hasher, engine, engines, completion and post-processor")
        void coreBeans() {
            InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();
            ResultCodec codec = JacksonResultCodec.create();
            RequestHasher hasher = value -> "fixed";
            Idempotency engine = Idempotency.builder(store).build();
            IdempotencyEngines engines = IdempotencyEngines.of(engine);
            TransactionalCompletion completion = new JdbiTransactionalCompletion(
                    JdbiIdempotencyStore.builder(org.jdbi.v3.core.Jdbi.create(postgres)).build(), postgres);
            IdempotentBeanPostProcessor processor = new IdempotentBeanPostProcessor();
            runner.withBean(DataSource.class, () -> postgres, definition -> definition.setDestroyMethodName(""))
                    .withBean("myStore", IdempotencyStore.class, () -> store)
                    .withBean("myCodec", ResultCodec.class, () -> codec)
                    .withBean("myHasher", RequestHasher.class, () -> hasher)
                    .withBean("myEngine", Idempotency.class, () -> engine)
                    .withBean("myEngines", IdempotencyEngines.class, () -> engines)
                    .withBean("myCompletion", TransactionalCompletion.class, () -> completion)
                    .withBean(IdempotentBeanPostProcessor.BEAN_NAME, IdempotentBeanPostProcessor.class, () -> processor)
                    .run(context -> {
                        assertThat(context.getBean(IdempotencyStore.class)).isSameAs(store);
                        assertThat(context.getBean(ResultCodec.class)).isSameAs(codec);
                        assertThat(context.getBean(RequestHasher.class)).isSameAs(hasher);
                        assertThat(context.getBean(Idempotency.class)).isSameAs(engine);
                        assertThat(context.getBean(IdempotencyEngines.class)).isSameAs(engines);
                        assertThat(context.getBean(TransactionalCompletion.class)).isSameAs(completion);
                        assertThat(context.getBean(IdempotentBeanPostProcessor.class)).isSameAs(processor);
                        assertThat(context).doesNotHaveBean(JdbiIdempotencyStore.class);
                    });
            engine.close();
        }

        @Test
        @DisplayName("problem handler, filter and its registration, endpoint, health indicator and consumer loops")
        void otherBeans() {
            IdempotencyProblemHandler problems = new IdempotencyProblemHandler("https://example.com/problems/");
            IdempotentConsumerLoops loops = new IdempotentConsumerLoops(Map.of(), Duration.ofSeconds(1));
            IdempotencyHealthIndicator health = new IdempotencyHealthIndicator(
                    new org.idempotency.spring.boot.actuate.IdempotencyStoreHealth(InMemoryIdempotencyStore.create()));
            web.withPropertyValues("idempotency.http.url-patterns=/orders/*",
                    "management.endpoints.web.exposure.include=idempotency")
                    .withBean("myProblems", IdempotencyProblemHandler.class, () -> problems)
                    .withBean("myLoops", IdempotentConsumerLoops.class, () -> loops)
                    .withBean("myEndpoint", IdempotencyEndpoint.class,
                            () -> new IdempotencyEndpoint(InMemoryIdempotencyStore.create()))
                    .withBean("idempotencyHealthIndicator", IdempotencyHealthIndicator.class, () -> health)
                    .withBean("myFilter", IdempotencyFilter.class, () -> IdempotencyFilter.builder(
                            Idempotency.builder(InMemoryIdempotencyStore.create()).build()).operation("mine").build())
                    .withBean("idempotencyFilterRegistration", FilterRegistrationBean.class,
                            () -> new FilterRegistrationBean<>())
                    .run(context -> {
                        assertThat(context.getBean(IdempotencyProblemHandler.class)).isSameAs(problems);
                        assertThat(context.getBean(IdempotentConsumerLoops.class)).isSameAs(loops);
                        assertThat(context.getBeansOfType(IdempotencyEndpoint.class)).containsOnlyKeys("myEndpoint");
                        assertThat(context.getBeansOfType(IdempotencyFilter.class)).containsOnlyKeys("myFilter");
                        FilterRegistrationBean<?> registration =
                                context.getBean("idempotencyFilterRegistration", FilterRegistrationBean.class);
                        assertThat(registration.getUrlPatterns()).isEmpty();
                        assertThat(context.getBean(IdempotencyHealthIndicator.class)).isSameAs(health);
                    });
        }

        @Test
        @DisplayName("listeners and customizers are applied to the engine the starter builds")
        void listenersAndCustomizers() {
            java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            runner.withBean(IdempotencyListener.class, () -> event -> seen.add(event.type().name()))
                    .withBean(IdempotencyBuilderCustomizer.class, () -> builder -> builder.lease(Duration.ofSeconds(7)))
                    .run(context -> {
                        Idempotency engine = context.getBean(Idempotency.class);
                        assertThat(engine.lease()).isEqualTo(Duration.ofSeconds(7));
                        engine.operation("boot", String.class).execute("k-" + UUID.randomUUID(), "h", () -> "x");
                        assertThat(seen).contains("ACQUIRED", "COMPLETED");
                    });
        }
    }
}
