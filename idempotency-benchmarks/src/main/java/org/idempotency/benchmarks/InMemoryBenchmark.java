package org.idempotency.benchmarks;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
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
 * The in-memory store through the whole engine ({@code execute}), next to its raw floor measured in the same
 * run: the same {@link ConcurrentHashMap} operations, with and without encoding the same value with the same
 * codec. One thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class InMemoryBenchmark {

    /** A typical small result. */
    public record Order(String id, String customer, long amountCents, List<String> items) {
    }

    private static final int KEYS_PER_STORE = 200_000;
    private static final Order ORDER = new Order("ord-1", "cust-42", 1999, List.of("book", "pen"));
    private static final String HASH = "5d41402abc4b2a76b9719d911017c592ae4f1a5b0c4c6f5c7e2b1f9a3c2d1e0f";

    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;
    private ResultCodec.Typed<Order> codec;
    private ConcurrentHashMap<String, Object> rawMap;
    private String[] keys;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        keys = new String[KEYS_PER_STORE];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = "key-" + i;
        }
        codec = JacksonResultCodec.create().forType(TypeRef.of(Order.class));
        freshStores();
        operation.execute("replayed", HASH, () -> ORDER);
        rawMap.put("raw:replayed", codec.encode(ORDER));
    }

    /** Starts from empty maps every so many first calls, so memory stays flat; the cost is amortised. */
    private void freshStores() {
        if (idempotency != null) {
            idempotency.close();
        }
        idempotency = Idempotency.builder(InMemoryIdempotencyStore.create())
                .purgeInterval(Duration.ZERO)
                .build();
        operation = idempotency.operation("bench", Order.class);
        operation.execute("replayed", HASH, () -> ORDER);
        rawMap = new ConcurrentHashMap<>();
        rawMap.put("raw:replayed", codec.encode(ORDER));
        next = 0;
    }

    private String nextKey() {
        if (next == keys.length) {
            freshStores();
        }
        return keys[next++];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        idempotency.close();
    }

    /** A replay through the engine: validate, acquire (finds the completed record), check the hash, decode. */
    @Benchmark
    public Order executeReplay() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    /** A first call through the engine: validate, acquire, renewal scheduled and cancelled, encode, complete. */
    @Benchmark
    public Order executeFirstCall() {
        return operation.execute(nextKey(), HASH, () -> ORDER);
    }

    /** The floor of a first call: {@code putIfAbsent} then {@code put}. */
    @Benchmark
    public Object rawPutIfAbsentThenPut() {
        String key = nextKey();
        rawMap.putIfAbsent(key, Boolean.TRUE);
        return rawMap.put(key, ORDER);
    }

    /** The floor of a first call with the same codec work: {@code putIfAbsent}, encode, {@code put}. */
    @Benchmark
    public Object rawPutIfAbsentEncodePut() {
        String key = nextKey();
        rawMap.putIfAbsent(key, Boolean.TRUE);
        return rawMap.put(key, codec.encode(ORDER));
    }

    /** The floor of a replay: {@code get} then decode. */
    @Benchmark
    public Order rawGetDecode() {
        return codec.decode((byte[]) rawMap.get("raw:replayed"));
    }
}
