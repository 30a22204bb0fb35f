package org.idempotency.benchmarks;

import static org.idempotency.benchmarks.BenchData.HASH;
import static org.idempotency.benchmarks.BenchData.ORDER;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.benchmarks.BenchData.Order;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.JacksonResultCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-memory store through the whole engine ({@code execute}) next to its floor, measured in the same run:
 * the same {@link ConcurrentHashMap} operations plus encoding or decoding the same value with the same codec.
 * Every thread of a run shares one engine and one map.
 *
 * <ul>
 *   <li>{@code firstCall}: validate, acquire, work, encode, complete; floor: {@code putIfAbsent} of a marker,
 *       encode, {@code put};</li>
 *   <li>{@code replay}: acquire finds the completed record, hash check, decode; floor: {@code get}, decode;</li>
 *   <li>{@code contention}: {@value BenchData#CALLS_PER_CONTENDED_KEY} consecutive calls share a key (see
 *       {@link BenchData#CALLS_PER_CONTENDED_KEY}): one runs the work, the others replay it or, while it runs,
 *       get the in-progress answer; floor: {@code putIfAbsent}, then encode and {@code put} for the winner,
 *       {@code get} and decode (or see the marker) for the others.</li>
 * </ul>
 *
 * <p>Each iteration starts from an empty store and an empty map, so that memory stays flat.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
@State(Scope.Benchmark)
public class InMemoryBenchmark {

    private static final Object IN_PROGRESS = new Object();

    private final AtomicLong sequence = new AtomicLong();
    private final ResultCodec.Typed<Order> codec = JacksonResultCodec.create().forType(TypeRef.of(Order.class));
    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;
    private ConcurrentHashMap<String, Object> floorMap;

    @Setup(Level.Iteration)
    public void freshStores() {
        tearDown();
        idempotency = Idempotency.builder(InMemoryIdempotencyStore.create())
                .purgeInterval(Duration.ZERO)
                .build();
        operation = idempotency.operation("bench", Order.class);
        operation.execute("replayed", HASH, () -> ORDER);
        floorMap = new ConcurrentHashMap<>();
        floorMap.put("replayed", codec.encode(ORDER));
    }

    @TearDown(Level.Iteration)
    public void tearDown() {
        if (idempotency != null) {
            idempotency.close();
            idempotency = null;
        }
    }

    private String nextKey() {
        return "k" + sequence.getAndIncrement();
    }

    @Benchmark
    public Order firstCall() {
        return operation.execute(nextKey(), HASH, () -> ORDER);
    }

    @Benchmark
    public Object firstCallFloor() {
        String key = nextKey();
        floorMap.putIfAbsent(key, IN_PROGRESS);
        return floorMap.put(key, codec.encode(ORDER));
    }

    @Benchmark
    public Order replay() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    @Benchmark
    public Order replayFloor() {
        return codec.decode((byte[]) floorMap.get("replayed"));
    }

    @Benchmark
    public Order contention() {
        try {
            return operation.execute(BenchData.contendedKey("", sequence.getAndIncrement()), HASH, () -> ORDER);
        } catch (IdempotencyInProgressException e) {
            return null;
        }
    }

    @Benchmark
    public Object contentionFloor() {
        String key = BenchData.contendedKey("", sequence.getAndIncrement());
        Object found = floorMap.putIfAbsent(key, IN_PROGRESS);
        if (found == null) {
            return floorMap.put(key, codec.encode(ORDER));
        }
        return found instanceof byte[] bytes ? codec.decode(bytes) : null;
    }
}
