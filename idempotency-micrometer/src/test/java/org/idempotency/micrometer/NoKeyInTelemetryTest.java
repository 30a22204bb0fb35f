package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.redis.RedisIdempotencyStore;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * Drives every outcome over Redis with a recognisable key, request hash and result, including store faults whose
 * messages quote the key (as a driver's may), then searches everything the instrumentation produced: meter names,
 * tags and descriptions; observation names, key values and recorded errors (message and stack trace); span names,
 * attributes, events and statuses; and the log output.
 */
class NoKeyInTelemetryTest {

    private static final String KEY = "secret-key-7f3a9c5e";
    private static final String HASH = "secret-hash-41d2e8b0";
    private static final String PAYLOAD = "secret-payload-99b1c4d7";
    private static final List<String> SECRETS = List.of(KEY, HASH, PAYLOAD);

    private RedissonClient client;
    private String prefix;
    private final ByteArrayOutputStream logs = new ByteArrayOutputStream();
    private PrintStream originalErr;

    @BeforeEach
    void start() {
        Config config = new Config();
        config.useSingleServer().setAddress(TestServices.redisAddress());
        client = Redisson.create(config);
        prefix = TestServices.uniqueRedisPrefix("telemetry");
        originalErr = System.err;
        System.setErr(new PrintStream(new Tee(originalErr, logs), true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() {
        System.setErr(originalErr);
        try {
            client.getKeys().deleteByPattern(prefix + "*");
        } finally {
            client.shutdown();
        }
    }

    @Test
    @DisplayName("observed and traced: no key, hash or result in any meter, observation, span or log line of ours")
    void observedAndTraced() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        TestObservationRegistry observations = TestObservationRegistry.create();
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        try (SdkTracerProvider provider = SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(spans)).build()) {
            OtelTracer tracer = new OtelTracer(provider.get("test"), new OtelCurrentTraceContext(), event -> { });
            observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters))
                    .observationHandler(new DefaultTracingObservationHandler(tracer));

            runEveryOutcome(IdempotencyMicrometer.builder().observationRegistry(observations).meterRegistry(meters));

            List<String> seen = new ArrayList<>(meters(meters));
            List<Observation.Context> contexts = new ArrayList<>();
            TestObservationRegistryAssert.assertThat(observations).hasHandledContextsThatSatisfy(contexts::addAll);
            for (Observation.Context context : contexts) {
                seen.add(context.getName() + " " + context.getContextualName() + " "
                        + context.getLowCardinalityKeyValues() + " " + context.getHighCardinalityKeyValues());
                if (context.getError() != null) {
                    seen.add(stackTrace(context.getError()));
                }
            }
            for (SpanData span : spans.getFinishedSpanItems()) {
                seen.add(span.getName() + " " + span.getAttributes() + " " + span.getEvents() + " "
                        + span.getStatus());
            }
            assertThat(contexts).filteredOn(IdempotencyExecutionContext.class::isInstance)
                    .extracting(context -> ((IdempotencyExecutionContext) context).getOutcome())
                    .contains(IdempotencyEvent.Type.COMPLETED, IdempotencyEvent.Type.REPLAYED,
                            IdempotencyEvent.Type.KEY_REUSED, IdempotencyEvent.Type.IN_PROGRESS,
                            IdempotencyEvent.Type.RELEASED, IdempotencyEvent.Type.FAILURE_RECORDED,
                            IdempotencyEvent.Type.FAILURE_REPLAYED, IdempotencyEvent.Type.RESULT_NOT_KEPT,
                            IdempotencyEvent.Type.STORE_ERROR, IdempotencyEvent.Type.UNPROTECTED,
                            IdempotencyEvent.Type.LEASE_LOST);
            assertThat(spans.getFinishedSpanItems()).hasSizeGreaterThan(20);
            assertNothingSecret(seen);
        }
        assertLogsKeepSecrets();
    }

    @Test
    @DisplayName("timed directly: no key, hash or result in any meter or log line of ours")
    void timedDirectly() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        runEveryOutcome(IdempotencyMicrometer.builder().meterRegistry(meters));
        List<String> seen = meters(meters);
        assertThat(seen).anyMatch(meter -> meter.contains("outcome=store-error"))
                .anyMatch(meter -> meter.contains("outcome=lease-lost"));
        assertNothingSecret(seen);
        assertLogsKeepSecrets();
    }

    /** Every outcome over Redis, with the key, hash and result above, and store faults that quote the key. */
    private void runEveryOutcome(IdempotencyMicrometer.Builder builder) throws InterruptedException {
        IdempotencyMicrometer micrometer = builder.storeName("redis").build();
        FaultInjectingStore store = FaultInjectingStore.wrap(RedisIdempotencyStore.builder(client).keyPrefix(prefix)
                .build());
        String result = "{\"receipt\":\"" + PAYLOAD + "\"}";
        try (Idempotency closed = micrometer.instrument(Idempotency.builder(store).purgeInterval(Duration.ZERO)
                        .permanentFailure(e -> e instanceof IllegalArgumentException).maxResultBytes(64)
                        .lease(Duration.ofMillis(600)).renewInterval(Duration.ofMillis(100))).build();
                Idempotency open = micrometer.instrument(Idempotency.builder(store).purgeInterval(Duration.ZERO)
                        .failOpen(true)).build()) {
            IdempotentOperation<String> op = closed.operation("charge", String.class);
            op.execute(KEY + "-a", HASH, () -> result);
            op.execute(KEY + "-a", HASH, () -> result);
            assertThatThrownBy(() -> op.execute(KEY + "-a", HASH + "-other", () -> result))
                    .isInstanceOf(IdempotencyException.class);
            try (Execution<String> held = op.begin(KEY + "-b", HASH)) {
                assertThatThrownBy(() -> op.execute(KEY + "-b", HASH, () -> result))
                        .isInstanceOf(IdempotencyException.class);
                held.complete(result);
            }
            assertThatThrownBy(() -> op.execute(KEY + "-c", HASH, () -> {
                throw new IllegalStateException("gateway timeout");
            })).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> op.execute(KEY + "-d", HASH, () -> {
                throw new IllegalArgumentException("card declined");
            })).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> op.execute(KEY + "-d", HASH, () -> result))
                    .isInstanceOf(IdempotencyException.class);
            op.execute(KEY + "-e", HASH, () -> result + result + result);
            assertThatThrownBy(() -> op.execute(KEY + "-e", HASH, () -> result))
                    .isInstanceOf(IdempotencyException.class);
            op.find(KEY + "-a");

            String quoted = "charge:" + KEY + "-f";
            store.faultWith(() -> new IllegalStateException("Command (EVALSHA) failed, params: [" + quoted + ", "
                    + HASH + "]"));
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            assertThatThrownBy(() -> op.execute(KEY + "-f", HASH, () -> result))
                    .isInstanceOf(IdempotencyStoreException.class);
            store.faultWith(() -> new IdempotencyStoreException("Redis timed out", quoted, null));
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
            assertThat(open.operation("charge", String.class).execute(KEY + "-g", HASH, () -> result))
                    .isEqualTo(result);

            store.failAlways(FaultInjectingStore.Operation.EXTEND);
            Execution<String> stalled = op.begin(KEY + "-h", HASH);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!stalled.isLeaseLost() && System.nanoTime() - deadline < 0) {
                Thread.sleep(20);
            }
            store.heal();
            Execution<String> successor = null;
            while (successor == null && System.nanoTime() - deadline < 0) {
                try {
                    successor = op.begin(KEY + "-h", HASH);
                } catch (IdempotencyException stillHeld) {
                    Thread.sleep(20);
                }
            }
            assertThat(successor).as("taken over within 30 s").isNotNull();
            assertThat(stalled.complete(result)).isFalse();
            assertThat(successor.complete(result)).isTrue();
        }
    }

    private static List<String> meters(MeterRegistry registry) {
        List<String> seen = new ArrayList<>();
        for (Meter meter : registry.getMeters()) {
            seen.add(meter.getId().getName() + " " + meter.getId().getDescription() + " " + meter.getId().getTags()
                    .stream().map(tag -> tag.getKey() + "=" + tag.getValue()).toList());
        }
        assertThat(seen).isNotEmpty();
        return seen;
    }

    private static void assertNothingSecret(List<String> seen) {
        for (String secret : SECRETS) {
            assertThat(seen).as("telemetry naming %s", secret).noneMatch(text -> text.contains(secret));
        }
    }

    /**
     * No log line of this module, of Micrometer or of the tracer names the key, the hash or the result. The engine's
     * own WARN lines name the key (shortened) and repeat a store fault's message, as the core documents; they are
     * the engine's, not the instrumentation's, and are left out here.
     */
    private void assertLogsKeepSecrets() {
        List<String> lines = logs.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).as("the engine logged the store faults")
                .anyMatch(line -> line.contains(" org.idempotency.core.Idempotency - "));
        List<String> others = lines.stream()
                .filter(line -> !line.contains(" org.idempotency.core.Idempotency - ")).toList();
        for (String secret : SECRETS) {
            assertThat(others).as("log lines naming %s", secret).noneMatch(line -> line.contains(secret));
        }
    }

    private static String stackTrace(Throwable error) {
        StringWriter out = new StringWriter();
        error.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    /** Writes to the original stream and keeps a copy. */
    private static final class Tee extends OutputStream {
        private final OutputStream first;
        private final OutputStream second;

        Tee(OutputStream first, OutputStream second) {
            this.first = first;
            this.second = second;
        }

        @Override
        public synchronized void write(int b) throws java.io.IOException {
            first.write(b);
            second.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws java.io.IOException {
            first.write(b, off, len);
            second.write(b, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            first.flush();
            second.flush();
        }
    }
}
