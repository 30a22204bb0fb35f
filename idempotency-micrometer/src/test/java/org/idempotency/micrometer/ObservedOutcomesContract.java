package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.search.MeterNotFoundException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationView;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.idempotency.api.IdempotencyEvent.Type;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.testkit.FaultInjectingStore;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Every outcome of an execution over a real store, one test each, as Micrometer records it: the
 * {@code idempotency.execution} observation with its tags, its store calls as child observations, the timers a
 * meter handler makes of them, and the module's own counters and long task timer. Uses Micrometer's
 * {@link TestObservationRegistry} (with {@link DefaultMeterObservationHandler}, as Spring Boot installs) and a
 * {@link SimpleMeterRegistry}; no mocks. Micrometer Tracing's OpenTelemetry bridge traces every case too: after each
 * test, every finished execution is one exported span carrying its outcome, and every store call a child span of
 * its execution's span ({@link #spansMatchObservations}).
 */
abstract class ObservedOutcomesContract {

    private static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");

    /** A store of the service under test, in a namespace of this test class's own. */
    protected abstract IdempotencyStore store();

    /** The {@code store} tag the instrumentation gives that store by default. */
    protected abstract String storeTag();

    protected SimpleMeterRegistry meters;
    protected TestObservationRegistry observations;
    protected String key;
    private final List<Idempotency> engines = new ArrayList<>();

    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final SdkTracerProvider tracerProvider = SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(spans)).build();

    @BeforeEach
    void registries() {
        meters = new SimpleMeterRegistry();
        observations = TestObservationRegistry.create();
        observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
        observations.observationConfig().observationHandler(new DefaultTracingObservationHandler(new OtelTracer(
                tracerProvider.get("idempotency-test"), new OtelCurrentTraceContext(), event -> { })));
        key = "k-" + UUID.randomUUID();
    }

    @AfterEach
    void closeEngines() {
        try {
            engines.forEach(Idempotency::close);
            spansMatchObservations();
        } finally {
            tracerProvider.close();
        }
    }

    /**
     * Every finished execution observation was exported as one span named like it, with its outcome as the
     * {@code outcome} attribute; and every store call made inside an execution is a child span of that span.
     */
    private void spansMatchObservations() {
        List<String> observed = contexts().stream().filter(IdempotencyExecutionContext.class::isInstance)
                .map(IdempotencyExecutionContext.class::cast).filter(context -> context.getOutcome() != null)
                .map(context -> context.getContextualName() + " = "
                        + DefaultIdempotencyExecutionConvention.outcome(context.getOutcome()))
                .sorted().toList();
        List<SpanData> executionSpans = spans.getFinishedSpanItems().stream()
                .filter(span -> span.getAttributes().get(OUTCOME) != null).toList();
        assertThat(executionSpans.stream().map(span -> span.getName() + " = " + span.getAttributes().get(OUTCOME))
                .sorted().toList()).as("exported execution spans and their outcomes").isEqualTo(observed);
        long callsInExecutions = storeCalls().stream().filter(call -> parentContext(call) != null).count();
        long childSpans = spans.getFinishedSpanItems().stream().filter(span -> executionSpans.stream()
                .anyMatch(execution -> execution.getSpanId().equals(span.getParentSpanId()))).count();
        assertThat(childSpans).as("store calls exported as children of their execution's span")
                .isEqualTo(callsInExecutions);
    }

    /** An engine over the store, instrumented with the default store naming. */
    protected Idempotency engine(UnaryOperator<Idempotency.Builder> options) {
        IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
                .observationRegistry(observations)
                .meterRegistry(meters)
                .build();
        return keep(micrometer.instrument(options.apply(Idempotency.builder(store()))).build());
    }

    /** An engine over a fault-injecting wrapper of the store, tagged with the store's own name. */
    protected Idempotency engine(FaultInjectingStore faulty, UnaryOperator<Idempotency.Builder> options) {
        IdempotencyMicrometer micrometer = IdempotencyMicrometer.builder()
                .observationRegistry(observations)
                .meterRegistry(meters)
                .storeName(storeTag())
                .build();
        return keep(micrometer.instrument(options.apply(Idempotency.builder(faulty).purgeInterval(Duration.ZERO)))
                .build());
    }

    private Idempotency keep(Idempotency engine) {
        engines.add(engine);
        return engine;
    }

    @Test
    @DisplayName("executed: one observation tagged executed, the acquire and the completion as its children")
    void executed() {
        IdempotentOperation<String> op = engine(b -> b).operation("charge", String.class);
        assertThat(op.execute(key, "h", () -> "receipt")).isEqualTo("receipt");

        IdempotencyExecutionContext execution = execution(Type.COMPLETED);
        assertThat(execution.getOperation()).isEqualTo("charge");
        assertThat(execution.getStore()).isEqualTo(storeTag());
        assertThat(execution.getContextualName()).isEqualTo("idempotency charge");
        assertThat(calls(execution)).containsExactly("acquire:acquired", "complete:done");
        assertThat(execution.getError()).isNull();
        assertThat(executionTimer("charge", "executed", "none").count()).isEqualTo(1);
        assertThat(callTimer("acquire", "acquired").count()).isEqualTo(1);
        assertThat(callTimer("complete", "done").count()).isEqualTo(1);
        assertThat(meters.get("idempotency.executions.running").tags("operation", "charge").longTaskTimer()
                .activeTasks()).isZero();

        assertThat(op.find(key)).isPresent();
        IdempotencyStoreCallContext find = only(storeCalls(), "find");
        assertThat(find.getParentObservation()).as("a find belongs to no execution").isNull();
        assertThat(callTimer("find", "found").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("replayed: the repeat is tagged replayed, its acquire found the record")
    void replayed() {
        IdempotentOperation<String> op = engine(b -> b).operation("charge", String.class);
        op.execute(key, "h", () -> "receipt");
        assertThat(op.execute(key, "h", () -> "other")).isEqualTo("receipt");

        assertThat(calls(execution(Type.REPLAYED))).containsExactly("acquire:existing");
        assertThat(executionTimer("charge", "replayed", "none").count()).isEqualTo(1);
        assertThat(callTimer("acquire", "existing").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("in-progress: a repeat while the first runs; the first counts as running until it is finished")
    void inProgress() {
        IdempotentOperation<String> op = engine(b -> b).operation("charge", String.class);
        try (Execution<String> first = op.begin(key, "h")) {
            assertThat(running("charge")).isEqualTo(1);
            assertThatThrownBy(() -> op.execute(key, "h", () -> "r")).isInstanceOf(IdempotencyInProgressException.class);
            assertThat(calls(execution(Type.IN_PROGRESS))).containsExactly("acquire:existing");
            assertThat(executionTimer("charge", "in-progress", "none").count()).isEqualTo(1);
            first.complete("r");
        }
        assertThat(running("charge")).isZero();
    }

    @Test
    @DisplayName("key-reused: a repeat with another request")
    void keyReused() {
        IdempotentOperation<String> op = engine(b -> b).operation("charge", String.class);
        op.execute(key, "h", () -> "receipt");
        assertThatThrownBy(() -> op.execute(key, "other", () -> "r")).isInstanceOf(IdempotencyKeyReusedException.class);

        IdempotencyExecutionContext reused = execution(Type.KEY_REUSED);
        assertThat(reused.getError()).as("a refused repeat is an outcome, not an error").isNull();
        assertThat(executionTimer("charge", "key-reused", "none").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("failure-recorded: a permanent failure is stored, with what the work threw as the error")
    void failureRecorded() {
        IdempotentOperation<String> op = engine(b -> b.permanentFailure(e -> e instanceof IllegalArgumentException))
                .operation("charge", String.class);
        IllegalArgumentException declined = new IllegalArgumentException("card declined");
        assertThatThrownBy(() -> op.execute(key, "h", () -> {
            throw declined;
        })).isSameAs(declined);

        IdempotencyExecutionContext failed = execution(Type.FAILURE_RECORDED);
        assertThat(calls(failed)).containsExactly("acquire:acquired", "fail:done");
        assertThat(failed.getError()).isSameAs(declined);
        assertThat(executionTimer("charge", "failure-recorded", "IllegalArgumentException").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("failure-replayed: a repeat of a recorded failure")
    void failureReplayed() {
        IdempotentOperation<String> op = engine(b -> b.permanentFailure(e -> true)).operation("charge", String.class);
        assertThatThrownBy(() -> op.execute(key, "h", () -> {
            throw new IllegalArgumentException("card declined");
        })).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> op.execute(key, "h", () -> "r"))
                .isInstanceOf(IdempotencyReplayedFailureException.class);

        assertThat(calls(execution(Type.FAILURE_REPLAYED))).containsExactly("acquire:existing");
        assertThat(executionTimer("charge", "failure-replayed", "none").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("released: work that throws releases the key, with what it threw as the error")
    void released() {
        IdempotentOperation<String> op = engine(b -> b).operation("charge", String.class);
        IllegalStateException timeout = new IllegalStateException("gateway timeout");
        assertThatThrownBy(() -> op.execute(key, "h", () -> {
            throw timeout;
        })).isSameAs(timeout);

        IdempotencyExecutionContext released = execution(Type.RELEASED);
        assertThat(calls(released)).containsExactly("acquire:acquired", "release:done");
        assertThat(released.getError()).isSameAs(timeout);
        assertThat(executionTimer("charge", "released", "IllegalStateException").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("not-kept: a result over the size limit closes the record without it, for the run and its repeats")
    void notKept() {
        IdempotentOperation<String> op = engine(b -> b.maxResultBytes(8)).operation("charge", String.class);
        op.execute(key, "h", () -> "a result longer than eight bytes");
        assertThatThrownBy(() -> op.execute(key, "h", () -> "r")).isInstanceOf(IdempotencyResultNotKeptException.class);

        List<IdempotencyExecutionContext> notKept = executions(Type.RESULT_NOT_KEPT);
        assertThat(notKept).hasSize(2);
        assertThat(calls(notKept.get(0))).containsExactly("acquire:acquired", "complete:done");
        assertThat(calls(notKept.get(1))).containsExactly("acquire:existing");
        assertThat(executionTimer("charge", "not-kept", "none").count()).isEqualTo(2);
    }

    @Test
    @DisplayName("store-error: the store fails to acquire and the engine fails closed")
    void storeError() {
        FaultInjectingStore faulty = FaultInjectingStore.wrap(store());
        IdempotentOperation<String> op = engine(faulty, b -> b).operation("charge", String.class);
        faulty.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
        assertThatThrownBy(() -> op.execute(key, "h", () -> "r")).isInstanceOf(IdempotencyStoreException.class);

        IdempotencyExecutionContext failed = execution(Type.STORE_ERROR);
        assertThat(calls(failed)).containsExactly("acquire:error");
        assertThat(failed.getError()).isInstanceOf(IdempotencyStoreException.class);
        assertThat(executionTimer("charge", "store-error", "IdempotencyStoreException").count()).isEqualTo(1);
        assertThat(meters.get("idempotency.store.call").tags("call", "acquire", "result", "error", "store", storeTag(),
                "error", "IdempotencyStoreException").timer().count()).isEqualTo(1);
    }

    @Test
    @DisplayName("unprotected: the store fails to acquire and the engine, failing open, runs the work")
    void unprotected() {
        FaultInjectingStore faulty = FaultInjectingStore.wrap(store());
        IdempotentOperation<String> op = engine(faulty, b -> b.failOpen(true)).operation("charge", String.class);
        faulty.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);
        assertThat(op.execute(key, "h", () -> "receipt")).isEqualTo("receipt");

        IdempotencyExecutionContext unprotected = execution(Type.UNPROTECTED);
        assertThat(calls(unprotected)).containsExactly("acquire:error");
        assertThat(executionTimer("charge", "unprotected", "none").count()).isEqualTo(1);
    }

    @Test
    @DisplayName("lease-lost: renewals fail, another caller takes over, the first one's completion is refused")
    void leaseLost() throws InterruptedException {
        FaultInjectingStore faulty = FaultInjectingStore.wrap(store());
        UnaryOperator<Idempotency.Builder> shortLease = b -> b.lease(Duration.ofMillis(600))
                .renewInterval(Duration.ofMillis(100)).maxExecutionTime(Duration.ofMinutes(1));
        IdempotentOperation<String> stalled = engine(faulty, shortLease).operation("charge", String.class);
        IdempotentOperation<String> successor = engine(faulty, shortLease).operation("charge", String.class);
        faulty.failAlways(FaultInjectingStore.Operation.EXTEND);

        Execution<String> first = stalled.begin(key, "h");
        await(first::isLeaseLost);
        faulty.heal();
        Execution<String> second = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (second == null) {
            try {
                second = successor.begin(key, "h");
            } catch (IdempotencyInProgressException stillHeld) {
                assertThat(System.nanoTime() - deadline).as("taken over within 30 s").isNegative();
                Thread.sleep(20); // the store's lease ends a little after the local view gave it up
            }
        }
        assertThat(second.isTakeover()).isTrue();
        assertThat(first.complete("stale")).isFalse();
        assertThat(second.complete("fresh")).isTrue();

        IdempotencyExecutionContext lost = execution(Type.LEASE_LOST);
        assertThat(calls(lost)).startsWith("acquire:acquired").endsWith("complete:not-owned");
        IdempotencyExecutionContext tookOver = execution(Type.COMPLETED);
        assertThat(tookOver.isTakeover()).isTrue();
        assertThat(tookOver.getHighCardinalityKeyValue("idempotency.takeover").getValue()).isEqualTo("true");
        assertThat(calls(tookOver)).first().isEqualTo("acquire:taken-over");
        assertThat(calls(tookOver)).last().isEqualTo("complete:done");
        assertThat(executionTimer("charge", "lease-lost", "none").count()).isEqualTo(1);
        assertThat(counter("idempotency.lease.takeovers", "charge")).isEqualTo(1);
        assertThat(counter("idempotency.lease.losses", "charge")).isEqualTo(1);
    }

    @Test
    @DisplayName("leaked: an execution dropped unfinished ends as leaked when collected, and its key is released")
    void leaked() throws InterruptedException {
        IdempotentOperation<String> op = engine(b -> b).operation("charge", String.class);
        beginAndDrop(op);
        await(() -> {
            System.gc();
            return !executions(Type.LEAKED).isEmpty() && op.find(key).isEmpty();
        });
        assertThat(counter("idempotency.executions.leaked", "charge")).isEqualTo(1);
        assertThat(executionTimer("charge", "leaked", "none").count()).isEqualTo(1);
        assertThat(running("charge")).isZero();
        await(() -> storeCalls().stream().anyMatch(call -> call.getCall() == org.idempotency.core.IdempotencyObserver
                .StoreCall.RELEASE && call.getParentObservation() == null));
    }

    private void beginAndDrop(IdempotentOperation<String> op) {
        assertThat(op.begin(key, "h").isOwner()).isTrue();
    }

    @Test
    @DisplayName("renewals: each is a store call of its execution and counted")
    void renewals() throws InterruptedException {
        IdempotentOperation<String> op = engine(b -> b.lease(Duration.ofSeconds(3)).renewInterval(Duration.ofMillis(100)))
                .operation("charge", String.class);
        try (Execution<String> execution = op.begin(key, "h")) {
            await(() -> counter("idempotency.lease.renewals", "charge") >= 1);
            execution.complete("r");
        }
        IdempotencyExecutionContext completed = execution(Type.COMPLETED);
        assertThat(calls(completed)).first().isEqualTo("acquire:acquired");
        assertThat(calls(completed)).contains("extend:done").last().isEqualTo("complete:done");
        assertThat(callTimer("extend", "done").count()).isGreaterThanOrEqualTo(1);
    }

    // --- lookups --------------------------------------------------------------------------------------------

    /** Every context the test registry handled, in the order the observations started. */
    protected List<Observation.Context> contexts() {
        List<Observation.Context> all = new ArrayList<>();
        TestObservationRegistryAssert.assertThat(observations).hasHandledContextsThatSatisfy(all::addAll);
        return all;
    }

    protected List<IdempotencyExecutionContext> executions(Type outcome) {
        return contexts().stream().filter(IdempotencyExecutionContext.class::isInstance)
                .map(IdempotencyExecutionContext.class::cast).filter(context -> context.getOutcome() == outcome)
                .toList();
    }

    protected IdempotencyExecutionContext execution(Type outcome) {
        List<IdempotencyExecutionContext> found = executions(outcome);
        assertThat(found).as("executions ended as %s", outcome).hasSize(1);
        return found.get(0);
    }

    protected List<IdempotencyStoreCallContext> storeCalls() {
        return contexts().stream().filter(IdempotencyStoreCallContext.class::isInstance)
                .map(IdempotencyStoreCallContext.class::cast).toList();
    }

    private static IdempotencyStoreCallContext only(List<IdempotencyStoreCallContext> calls, String call) {
        List<IdempotencyStoreCallContext> found = calls.stream()
                .filter(context -> DefaultIdempotencyStoreCallConvention.call(context.getCall()).equals(call)).toList();
        assertThat(found).hasSize(1);
        return found.get(0);
    }

    /** The store calls observed as children of an execution, as {@code call:result}. */
    protected List<String> calls(IdempotencyExecutionContext execution) {
        return storeCalls().stream().filter(call -> parentContext(call) == execution)
                .map(call -> DefaultIdempotencyStoreCallConvention.call(call.getCall()) + ":"
                        + DefaultIdempotencyStoreCallConvention.result(call.getResult()))
                .toList();
    }

    private static Observation.@Nullable ContextView parentContext(Observation.Context context) {
        ObservationView parent = context.getParentObservation();
        return parent == null ? null : parent.getContextView();
    }

    protected Timer executionTimer(String operation, String outcome, String error) {
        return meters.get("idempotency.execution").tags("operation", operation, "store", storeTag(), "outcome",
                outcome, "error", error).timer();
    }

    protected Timer callTimer(String call, String result) {
        return meters.get("idempotency.store.call").tags("call", call, "store", storeTag(), "result", result,
                "error", "none").timer();
    }

    protected double counter(String name, String operation) {
        try {
            return meters.get(name).tags("operation", operation, "store", storeTag()).counter().count();
        } catch (MeterNotFoundException e) {
            return 0;
        }
    }

    protected int running(String operation) {
        return meters.get("idempotency.executions.running").tags("operation", operation, "store", storeTag())
                .longTaskTimer().activeTasks();
    }

    protected static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(20);
        }
    }
}
