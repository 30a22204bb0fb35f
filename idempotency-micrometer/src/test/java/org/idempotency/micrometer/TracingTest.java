package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.redis.RedisIdempotencyStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * With Micrometer Tracing and its OpenTelemetry bridge, an idempotent call is one span, its store calls are child
 * spans, and its outcome is an attribute; checked with OpenTelemetry's in-memory span exporter.
 */
class TracingTest {

    private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");
    private static final AttributeKey<String> OPERATION = AttributeKey.stringKey("operation");
    private static final AttributeKey<String> STORE = AttributeKey.stringKey("store");
    private static final AttributeKey<String> CALL = AttributeKey.stringKey("call");
    private static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");

    private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
    private final SdkTracerProvider provider = SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    private final OtelTracer tracer = new OtelTracer(provider.get("idempotency-test"), new OtelCurrentTraceContext(),
            event -> { });
    private final ObservationRegistry registry = ObservationRegistry.create();
    private final Idempotency idempotency;
    private final IdempotentOperation<String> charge;

    TracingTest() {
        registry.observationConfig().observationHandler(new DefaultTracingObservationHandler(tracer));
        idempotency = engine(InMemoryIdempotencyStore.create());
        charge = idempotency.operation("charge", String.class);
    }

    private Idempotency engine(IdempotencyStore store) {
        return IdempotencyMicrometer.builder().observationRegistry(registry).build()
                .instrument(Idempotency.builder(store)).build();
    }

    @AfterEach
    void close() {
        idempotency.close();
        provider.close();
    }

    @Test
    @DisplayName("execute is one span with the acquire and the completion as children, and the outcome an attribute")
    void oneSpanWithChildren() {
        charge.execute("k", "h", () -> "receipt");

        SpanData execution = span("idempotency charge");
        assertThat(execution.getAttributes().get(OUTCOME)).isEqualTo("executed");
        assertThat(execution.getAttributes().get(OPERATION)).isEqualTo("charge");
        assertThat(execution.getAttributes().get(STORE)).isEqualTo("memory");
        assertThat(execution.getStatus().getStatusCode()).isNotEqualTo(StatusCode.ERROR);
        assertThat(children(execution)).extracting(SpanData::getName)
                .containsExactly("idempotency acquire", "idempotency complete");
        assertThat(span("idempotency acquire").getAttributes().get(RESULT)).isEqualTo("acquired");
        assertThat(span("idempotency complete").getAttributes().get(CALL)).isEqualTo("complete");
        assertThat(span("idempotency acquire").getTraceId()).isEqualTo(execution.getTraceId());
    }

    @Test
    @DisplayName("what the work observes nests under the execution's span; the caller's span is its parent")
    void nesting() {
        Observation.createNotStarted("http.request", registry).observe(() -> charge.execute("k", "h", () ->
                Observation.createNotStarted("payment.gateway", registry).observe(() -> "receipt")));

        SpanData request = span("http.request");
        SpanData execution = span("idempotency charge");
        assertThat(execution.getParentSpanId()).isEqualTo(request.getSpanId());
        assertThat(children(execution)).extracting(SpanData::getName)
                .containsExactly("idempotency acquire", "payment.gateway", "idempotency complete");
    }

    @Test
    @DisplayName("begin on one thread and complete on another: one span, no span left current on the first")
    void finishedOnAnotherThread() throws Exception {
        Execution<String> execution = charge.begin("k", "h");
        assertThat(tracer.currentSpan()).as("no scope is left open across the caller's work").isNull();
        assertThat(exporter.getFinishedSpanItems()).extracting(SpanData::getName)
                .containsExactly("idempotency acquire");

        CompletableFuture.runAsync(() -> execution.complete("receipt")).get(10, TimeUnit.SECONDS);

        SpanData span = span("idempotency charge");
        assertThat(span.getAttributes().get(OUTCOME)).isEqualTo("executed");
        assertThat(children(span)).extracting(SpanData::getName)
                .containsExactly("idempotency acquire", "idempotency complete");
    }

    @Test
    @DisplayName("a replay is its own span with the outcome replayed")
    void replay() {
        charge.execute("k", "h", () -> "receipt");
        exporter.reset();
        charge.execute("k", "h", () -> "other");

        SpanData replay = span("idempotency charge");
        assertThat(replay.getAttributes().get(OUTCOME)).isEqualTo("replayed");
        assertThat(children(replay)).extracting(span -> span.getAttributes().get(RESULT)).containsExactly("existing");
    }

    @Test
    @DisplayName("work that throws marks the span as an error; a reused key is an outcome, not an error")
    void errors() {
        assertThatThrownBy(() -> charge.execute("k", "h", () -> {
            throw new IllegalStateException("gateway timeout");
        })).isInstanceOf(IllegalStateException.class);
        SpanData released = span("idempotency charge");
        assertThat(released.getAttributes().get(OUTCOME)).isEqualTo("released");
        assertThat(released.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        exporter.reset();

        charge.execute("k", "h", () -> "receipt");
        assertThatThrownBy(() -> charge.execute("k", "other", () -> "r"))
                .isInstanceOf(IdempotencyKeyReusedException.class);
        SpanData reused = exporter.getFinishedSpanItems().stream()
                .filter(span -> "key-reused".equals(span.getAttributes().get(OUTCOME))).findFirst().orElseThrow();
        assertThat(reused.getStatus().getStatusCode()).isNotEqualTo(StatusCode.ERROR);
    }

    @Test
    @DisplayName("over Redis too: one span per call, the Redis store calls as children")
    void overRedis() {
        Config config = new Config();
        config.useSingleServer().setAddress(TestServices.redisAddress());
        RedissonClient client = Redisson.create(config);
        String prefix = TestServices.uniqueRedisPrefix("tracing");
        try (Idempotency overRedis = engine(RedisIdempotencyStore.builder(client).keyPrefix(prefix).build())) {
            IdempotentOperation<String> op = overRedis.operation("charge", String.class);
            op.execute("k", "h", () -> "receipt");
            op.execute("k", "h", () -> "other");
        } finally {
            client.getKeys().deleteByPattern(prefix + "*");
            client.shutdown();
        }
        List<SpanData> executions = exporter.getFinishedSpanItems().stream()
                .filter(span -> span.getName().equals("idempotency charge")).toList();
        assertThat(executions).extracting(span -> span.getAttributes().get(OUTCOME))
                .containsExactly("executed", "replayed");
        assertThat(executions).allSatisfy(span -> assertThat(span.getAttributes().get(STORE)).isEqualTo("redis"));
        assertThat(children(executions.get(0))).extracting(SpanData::getName)
                .containsExactly("idempotency acquire", "idempotency complete");
    }

    private SpanData span(String name) {
        List<SpanData> found = exporter.getFinishedSpanItems().stream().filter(span -> span.getName().equals(name))
                .toList();
        assertThat(found).as("spans named %s", name).hasSize(1);
        return found.get(0);
    }

    private List<SpanData> children(SpanData parent) {
        return exporter.getFinishedSpanItems().stream()
                .filter(span -> span.getParentSpanId().equals(parent.getSpanId()))
                .sorted((a, b) -> Long.compare(a.getStartEpochNanos(), b.getStartEpochNanos()))
                .toList();
    }
}
