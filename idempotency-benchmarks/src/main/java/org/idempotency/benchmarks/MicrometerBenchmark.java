package org.idempotency.benchmarks;

import static org.idempotency.benchmarks.BenchData.HASH;
import static org.idempotency.benchmarks.BenchData.ORDER;

import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.benchmarks.BenchData.Order;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.micrometer.IdempotencyMicrometer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What metrics cost: the in-memory replay and first call through the whole engine, without instrumentation
 * ({@code off}), with {@code idempotency-micrometer} recording into a {@link SimpleMeterRegistry} directly
 * ({@code metrics}: no observation handler, the timers come from cached meters), and with an
 * {@link ObservationRegistry} whose {@link DefaultMeterObservationHandler} makes the timers
 * ({@code observations}: what Spring Boot sets up).
 *
 * <p>{@code replay} and {@code firstCall} report wall-clock time per call, as the other benchmarks do.
 * {@code replayCpuTime} runs replays in batches and also reports the CPU time the benchmark thread spent on them
 * ({@code cpuNanos} over {@code calls}): on a machine shared with other work, time slices given to other processes
 * inflate the wall-clock figures of whichever variant they fall on, but not its CPU time.
 *
 * <pre>
 * java -jar idempotency-benchmarks/target/benchmarks.jar MicrometerBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class MicrometerBenchmark {

    /** How many replays {@link #replayCpuTime} makes between two readings of the thread's CPU time. */
    static final int BATCH = 1000;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    @Param({"off", "metrics", "observations"})
    public String instrumentation;

    private final AtomicLong sequence = new AtomicLong();
    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;

    @Setup(Level.Iteration)
    public void engine() {
        tearDown();
        Idempotency.Builder builder = Idempotency.builder(InMemoryIdempotencyStore.create())
                .purgeInterval(Duration.ZERO);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        switch (instrumentation) {
            case "off" -> {
            }
            case "metrics" -> IdempotencyMicrometer.builder().meterRegistry(meters).build().instrument(builder);
            case "observations" -> {
                ObservationRegistry observations = ObservationRegistry.create();
                observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
                IdempotencyMicrometer.builder().observationRegistry(observations).meterRegistry(meters).build()
                        .instrument(builder);
            }
            default -> throw new IllegalArgumentException("instrumentation is off, metrics or observations, was "
                    + instrumentation);
        }
        idempotency = builder.build();
        operation = idempotency.operation("bench", Order.class);
        operation.execute("replayed", HASH, () -> ORDER);
    }

    @TearDown(Level.Iteration)
    public void tearDown() {
        if (idempotency != null) {
            idempotency.close();
            idempotency = null;
        }
    }

    @Benchmark
    public Order replay() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    @Benchmark
    public Order firstCall() {
        return operation.execute("k" + sequence.getAndIncrement(), HASH, () -> ORDER);
    }

    /** Replays, with the CPU time the benchmark thread spent on them. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void replayCpuTime(CpuTime cpu, Blackhole blackhole) {
        long start = THREADS.getCurrentThreadCpuTime();
        for (int i = 0; i < BATCH; i++) {
            blackhole.consume(operation.execute("replayed", HASH, () -> ORDER));
        }
        cpu.cpuNanos += THREADS.getCurrentThreadCpuTime() - start;
        cpu.calls += BATCH;
    }

    /** The CPU time of the measured calls, and how many there were, per iteration. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class CpuTime {
        /** Thread CPU nanoseconds spent in the measured calls. */
        public long cpuNanos;
        /** The measured calls. */
        public long calls;

        @Setup(Level.Iteration)
        public void reset() {
            cpuNanos = 0;
            calls = 0;
        }
    }
}
