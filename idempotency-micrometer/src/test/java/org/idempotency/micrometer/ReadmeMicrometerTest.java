package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The guide's plain-Java setups are this code: they compile and run here, and the guide shows them verbatim. */
class ReadmeMicrometerTest {

    record Receipt(String id) {
    }

    @Test
    @DisplayName("the guide's metrics-only setup records the execution and store call timers")
    void metricsOnly() throws IOException {
        IdempotencyStore store = InMemoryIdempotencyStore.create();

        // tag::metrics[]
        MeterRegistry meterRegistry = new SimpleMeterRegistry(); // or Prometheus, OTLP, ...
        IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
                .meterRegistry(meterRegistry)
                .build();
        try (Idempotency idempotency = micrometer.instrument(Idempotency.builder(store)).build()) {
            IdempotentOperation<Receipt> charge = idempotency.operation("charge", Receipt.class);
            charge.execute("key-1", "hash-1", () -> new Receipt("r-1"));
            charge.execute("key-1", "hash-1", () -> new Receipt("r-2")); // a replay
        }
        // end::metrics[]

        assertThat(meterRegistry.get("idempotency.execution").tags("operation", "charge", "outcome", "executed")
                .timer().count()).isEqualTo(1);
        assertThat(meterRegistry.get("idempotency.execution").tags("outcome", "replayed").timer().count())
                .isEqualTo(1);
        assertThat(meterRegistry.get("idempotency.store.call").tags("call", "acquire").timers()).hasSize(2);
        assertThat(guide()).contains(snippet("metrics"));
    }

    @Test
    @DisplayName("the guide's observation setup makes timers and spans")
    void observationsAndSpans() throws IOException {
        IdempotencyStore store = InMemoryIdempotencyStore.create();
        MeterRegistry meterRegistry = new SimpleMeterRegistry();
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        try (SdkTracerProvider provider = SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(spans)).build()) {
            Tracer tracer = new OtelTracer(provider.get("guide"), new OtelCurrentTraceContext(), event -> { });

            // tag::observations[]
            ObservationRegistry observationRegistry = ObservationRegistry.create();
            observationRegistry.observationConfig()
                    .observationHandler(new DefaultMeterObservationHandler(meterRegistry))
                    .observationHandler(new DefaultTracingObservationHandler(tracer));
            IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
                    .observationRegistry(observationRegistry)
                    .meterRegistry(meterRegistry)
                    .build();
            Idempotency idempotency = micrometer.instrument(Idempotency.builder(store)).build();
            // end::observations[]

            try (idempotency) {
                idempotency.operation("charge", Receipt.class).execute("key-1", "hash-1", () -> new Receipt("r-1"));
            }
            assertThat(spans.getFinishedSpanItems()).extracting(SpanData::getName)
                    .containsExactlyInAnyOrder("idempotency charge", "idempotency acquire", "idempotency complete");
        }
        assertThat(meterRegistry.get("idempotency.execution").tags("outcome", "executed").timer().count())
                .isEqualTo(1);
        assertThat(guide()).contains(snippet("observations"));
    }

    static String guide() throws IOException {
        return Files.readString(Path.of("..", "docs", "micrometer.md"));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    static String snippet(String tag) throws IOException {
        String source = Files.readString(Path.of("src/test/java/org/idempotency/micrometer/ReadmeMicrometerTest.java"));
        String start = "// tag::" + tag + "[]\n";
        String region = source.substring(source.indexOf(start) + start.length(), source.indexOf("// end::" + tag + "[]"));
        String[] lines = region.split("\n");
        int indent = lines[0].length() - lines[0].stripLeading().length();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
        }
        return out.toString().stripTrailing();
    }
}
