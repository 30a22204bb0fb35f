package org.idempotency.benchmarks;

import static org.idempotency.benchmarks.BenchData.HASH;
import static org.idempotency.benchmarks.BenchData.ORDER;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.camel.processor.idempotent.jdbc.JdbcMessageIdRepository;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.benchmarks.BenchData.Order;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.TransactionalOperation;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The PostgreSQL store (Jdbi) through the whole engine, next to its raw floor and Apache Camel's JDBC idempotent
 * repository, all through the same Jdbi or the same HikariCP pool in the same run, on tables created for the run
 * (the store's table and the floor's by the same schema script) and dropped after it. Every thread of a run
 * shares the pool and the engine.
 *
 * <ul>
 *   <li>{@code firstCall}: acquire statement, work, encode, completion statement; floor:
 *       {@code INSERT ... ON CONFLICT DO NOTHING} then an {@code UPDATE} with the encoded result;</li>
 *   <li>{@code replay}: the acquire statement finds the completed record, decode; floor: a primary-key
 *       {@code SELECT} of the result;</li>
 *   <li>{@code contention}: {@value BenchData#CALLS_PER_CONTENDED_KEY} consecutive calls share a key: one runs
 *       the work, the others replay it or get the in-progress answer; floor: the {@code INSERT}, then the
 *       {@code UPDATE} for the winner and the {@code SELECT} for the others;</li>
 *   <li>{@code transactional}: {@link TransactionalOperation} whose work inserts one order row (acquire, then
 *       one transaction with the insert and the completion); floor: the same insert in a transaction of its
 *       own;</li>
 *   <li>{@code claim...}: the overlap with Camel's {@link JdbcMessageIdRepository}, "claim a message id once":
 *       ours runs an empty piece of work under the id ({@code run}: acquire and complete), Camel's
 *       {@code add} checks and inserts the id in one transaction; for a new id ({@code claimNew}), an id
 *       already claimed ({@code claimDuplicate}) and {@value BenchData#CALLS_PER_CONTENDED_KEY} calls per id
 *       ({@code claimContended}).</li>
 * </ul>
 *
 * <p>With {@code synchronousCommit=on} (PostgreSQL's default) every commit waits for the WAL to reach the disk,
 * so the writing cases measure mostly the disk; {@code off} compares the statements themselves.
 *
 * <p>The database comes from {@code IDEMPOTENCY_POSTGRES_URL} (a JDBC URL with credentials), else
 * {@code jdbc:postgresql://127.0.0.1:5432/test?user=postgres}, reached directly or, with {@code network=200us},
 * through a {@link LatencyProxy} adding 200 µs each way.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
@State(Scope.Benchmark)
public class PostgresBenchmark {

    /** The sessions' {@code synchronous_commit}: {@code on} (PostgreSQL's default) or {@code off}. */
    @Param({"on"})
    public String synchronousCommit;

    /**
     * Between client and server: {@code loopback} (direct), or a {@link LatencyProxy} adding a delay each way,
     * such as {@code 200us} (a network within one region).
     */
    @Param({"loopback"})
    public String network;

    private @Nullable LatencyProxy proxy;

    private final AtomicLong sequence = new AtomicLong();
    private final ResultCodec.Typed<Order> codec = JacksonResultCodec.create().forType(TypeRef.of(Order.class));
    private HikariDataSource pool;
    private Jdbi jdbi;
    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;
    private IdempotentOperation<Void> claim;
    private TransactionalOperation<Order> transactional;
    private JdbcMessageIdRepository camel;
    private String[] tables;
    private String floorInsert;
    private String floorUpdate;
    private String floorSelect;
    private String orderInsert;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        if (!synchronousCommit.equals("on") && !synchronousCommit.equals("off")) {
            throw new IllegalArgumentException("synchronousCommit is on or off, was " + synchronousCommit);
        }
        proxy = BenchData.postgresProxy(network);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(BenchData.postgresUrl(proxy));
        config.setPoolName("idempotency-benchmark");
        config.setMaximumPoolSize(10);
        config.setConnectionInitSql("SET synchronous_commit = " + synchronousCommit);
        pool = new HikariDataSource(config);
        jdbi = Jdbi.create(pool);
        String run = BenchData.runId();
        String table = "idem_bench_" + run;
        String floorTable = "idem_bench_floor_" + run;
        String ordersTable = "idem_bench_orders_" + run;
        String camelTable = "idem_bench_camel_" + run;
        tables = new String[] {table, floorTable, ordersTable, camelTable};

        JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi).table(table).build();
        store.createSchema();
        JdbiIdempotencyStore.builder(jdbi).table(floorTable).build().createSchema(); // the same shape
        jdbi.useHandle(h -> h.execute("CREATE TABLE " + ordersTable + " (id bigserial PRIMARY KEY,"
                + " idem_key text NOT NULL, customer text NOT NULL, amount_cents bigint NOT NULL)"));
        floorInsert = "INSERT INTO " + floorTable + " (idempotency_key, request_hash, status, fencing_token,"
                + " lease_expires_at, expires_at) VALUES (:key, :hash, 'IN_PROGRESS', 1,"
                + " now() + interval '30 seconds', now() + interval '60 seconds') ON CONFLICT DO NOTHING";
        floorUpdate = "UPDATE " + floorTable + " SET status = 'COMPLETED', lease_expires_at = NULL,"
                + " expires_at = now() + interval '24 hours', status_code = 0, response = :response"
                + " WHERE idempotency_key = :key";
        floorSelect = "SELECT response FROM " + floorTable + " WHERE idempotency_key = :key";
        orderInsert = "INSERT INTO " + ordersTable + " (idem_key, customer, amount_cents)"
                + " VALUES (:key, :customer, :amount)";

        idempotency = Idempotency.builder(store).purgeInterval(Duration.ZERO).build();
        operation = idempotency.operation("bench", Order.class);
        claim = idempotency.operation("claim", Void.class);
        transactional = store.transactional(idempotency.operation("bench-tx", Order.class));
        camel = new JdbcMessageIdRepository(pool, "bench");
        camel.setTableName(camelTable); // created by the repository itself, with its own schema
        camel.start();

        operation.execute("replayed", HASH, () -> ORDER);
        jdbi.useHandle(h -> floorFirstCall(h, "replayed"));
        claim.run("claimed", null, () -> { });
        camel.add("claimed");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        idempotency.close();
        camel.stop();
        jdbi.useHandle(h -> {
            for (String table : tables) {
                h.execute("DROP TABLE IF EXISTS " + table + " CASCADE");
            }
        });
        pool.close();
        if (proxy != null) {
            proxy.close();
        }
    }

    private String nextKey() {
        return "k" + sequence.getAndIncrement();
    }

    private String nextContendedKey() {
        return BenchData.contendedKey("", sequence.getAndIncrement());
    }

    private boolean floorFirstCall(Handle h, String key) {
        if (h.createUpdate(floorInsert).bind("key", key).bind("hash", HASH).execute() == 0) {
            return false;
        }
        h.createUpdate(floorUpdate).bind("key", key).bind("response", codec.encode(ORDER)).execute();
        return true;
    }

    private byte[] floorSelect(Handle h, String key) {
        return h.createQuery(floorSelect).bind("key", key).mapTo(byte[].class).findOne().orElse(null);
    }

    @Benchmark
    public Order firstCall() {
        return operation.execute(nextKey(), HASH, () -> ORDER);
    }

    @Benchmark
    public boolean firstCallFloor() {
        String key = nextKey();
        return jdbi.withHandle(h -> floorFirstCall(h, key));
    }

    @Benchmark
    public Order replay() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    @Benchmark
    public byte[] replayFloor() {
        return jdbi.withHandle(h -> floorSelect(h, "replayed"));
    }

    @Benchmark
    public Order contention() {
        try {
            return operation.execute(nextContendedKey(), HASH, () -> ORDER);
        } catch (IdempotencyInProgressException e) {
            return null;
        }
    }

    @Benchmark
    public byte[] contentionFloor() {
        String key = nextContendedKey();
        return jdbi.withHandle(h -> floorFirstCall(h, key) ? null : floorSelect(h, key));
    }

    @Benchmark
    public Order transactional() {
        String key = nextKey();
        return transactional.execute(key, HASH, h -> {
            insertOrder(h, key);
            return ORDER;
        });
    }

    @Benchmark
    public Order transactionalFloor() {
        String key = nextKey();
        return jdbi.inTransaction(h -> {
            insertOrder(h, key);
            return ORDER;
        });
    }

    private void insertOrder(Handle h, String key) {
        h.createUpdate(orderInsert).bind("key", key).bind("customer", ORDER.customer())
                .bind("amount", ORDER.amountCents()).execute();
    }

    @Benchmark
    public void claimNew() {
        claim.run(nextKey(), null, () -> { });
    }

    @Benchmark
    public boolean claimNewCamel() {
        return camel.add(nextKey());
    }

    @Benchmark
    public void claimDuplicate() {
        claim.run("claimed", null, () -> { });
    }

    @Benchmark
    public boolean claimDuplicateCamel() {
        return camel.add("claimed");
    }

    @Benchmark
    public boolean claimContended() {
        try {
            claim.run(nextContendedKey(), null, () -> { });
            return true;
        } catch (IdempotencyInProgressException e) {
            return false;
        }
    }

    /** Camel's {@code add} of an id that another thread inserts at the same moment fails on the primary key. */
    @Benchmark
    public boolean claimContendedCamel() {
        try {
            return camel.add(nextContendedKey());
        } catch (RuntimeException duplicate) {
            return false;
        }
    }
}
