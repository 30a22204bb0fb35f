package org.idempotency.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.TransactionalOperation;
import org.jdbi.v3.core.Jdbi;
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
 * The PostgreSQL store through the whole engine, next to its raw floor measured in the same run, through the
 * same Jdbi and the same pool, on a table of the same shape (created by the same schema script). One thread.
 *
 * <ul>
 *   <li>first call: {@code execute} (acquire statement, work, encode, completion statement) against
 *       {@code INSERT ... ON CONFLICT DO NOTHING} then an {@code UPDATE} of the encoded result;</li>
 *   <li>replay: {@code execute} of a completed key (acquire statement, decode) against a primary-key
 *       {@code SELECT} of the result, with and without decoding it;</li>
 *   <li>transactional completion: {@code TransactionalOperation.execute} whose work inserts one order row,
 *       against the same insert in a transaction of its own.</li>
 * </ul>
 *
 * <p>Each measured method is named after the case it belongs to ({@code firstCall...}, {@code replay...},
 * {@code transactional...}), so JMH runs the engine and its floor back to back.
 *
 * <p>Commits wait for the WAL to reach the disk ({@code synchronousCommit=on}, PostgreSQL's default), so the
 * first-call and transactional cases mostly measure the disk, which other work on the machine shares. Run them
 * with {@code -p synchronousCommit=off} to compare the statements themselves.
 *
 * <p>The database comes from {@code IDEMPOTENCY_POSTGRES_URL} (a JDBC URL with credentials), else
 * {@code jdbc:postgresql://127.0.0.1:5432/test?user=postgres}. The tables are created for the run and dropped
 * after it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class JdbiBenchmark {

    /** A typical small result. */
    public record Order(String id, String customer, long amountCents, List<String> items) {
    }

    private static final Order ORDER = new Order("ord-1", "cust-42", 1999, List.of("book", "pen"));
    private static final String HASH = "5d41402abc4b2a76b9719d911017c592ae4f1a5b0c4c6f5c7e2b1f9a3c2d1e0f";

    /** The session's {@code synchronous_commit}: {@code on} (the default) or {@code off}. */
    @Param({"on"})
    public String synchronousCommit;

    private HikariDataSource pool;
    private Jdbi jdbi;
    private Idempotency idempotency;
    private IdempotentOperation<Order> operation;
    private TransactionalOperation<Order> transactional;
    private ResultCodec.Typed<Order> codec;
    private String table;
    private String rawTable;
    private String ordersTable;
    private String rawInsert;
    private String rawUpdate;
    private String rawSelect;
    private String orderInsert;
    private String prefix;
    private long next;

    @Setup(Level.Trial)
    public void setUp() {
        String url = System.getenv().getOrDefault("IDEMPOTENCY_POSTGRES_URL",
                "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setPoolName("idempotency-benchmark");
        config.setMaximumPoolSize(4);
        if (!synchronousCommit.equals("on") && !synchronousCommit.equals("off")) {
            throw new IllegalArgumentException("synchronousCommit is on or off, was " + synchronousCommit);
        }
        config.setConnectionInitSql("SET synchronous_commit = " + synchronousCommit);
        pool = new HikariDataSource(config);
        jdbi = Jdbi.create(pool);
        String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        table = "idem_bench_" + suffix;
        rawTable = "idem_bench_raw_" + suffix;
        ordersTable = "idem_bench_orders_" + suffix;
        JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi).table(table).build();
        store.createSchema();
        JdbiIdempotencyStore.builder(jdbi).table(rawTable).build().createSchema(); // the same shape for the floor
        jdbi.useHandle(h -> h.execute("CREATE TABLE " + ordersTable + " (id bigserial PRIMARY KEY,"
                + " idem_key text NOT NULL, customer text NOT NULL, amount_cents bigint NOT NULL)"));
        rawInsert = "INSERT INTO " + rawTable + " (idempotency_key, request_hash, status, fencing_token,"
                + " lease_expires_at, expires_at) VALUES (:key, :hash, 'IN_PROGRESS', 1,"
                + " now() + interval '30 seconds', now() + interval '60 seconds') ON CONFLICT DO NOTHING";
        rawUpdate = "UPDATE " + rawTable + " SET status = 'COMPLETED', lease_expires_at = NULL,"
                + " expires_at = now() + interval '24 hours', status_code = 0, response = :response"
                + " WHERE idempotency_key = :key";
        rawSelect = "SELECT response FROM " + rawTable + " WHERE idempotency_key = :key";
        orderInsert = "INSERT INTO " + ordersTable + " (idem_key, customer, amount_cents)"
                + " VALUES (:key, :customer, :amount)";

        idempotency = Idempotency.builder(store).purgeInterval(Duration.ZERO).build();
        operation = idempotency.operation("bench", Order.class);
        transactional = store.transactional(idempotency.operation("bench-tx", Order.class));
        codec = JacksonResultCodec.create().forType(TypeRef.of(Order.class));
        prefix = "k-" + suffix + "-";

        operation.execute("replayed", HASH, () -> ORDER);
        rawFirstCall("raw:replayed");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        idempotency.close();
        jdbi.useHandle(h -> {
            h.execute("DROP TABLE IF EXISTS " + table + " CASCADE");
            h.execute("DROP TABLE IF EXISTS " + rawTable + " CASCADE");
            h.execute("DROP TABLE IF EXISTS " + ordersTable);
        });
        pool.close();
    }

    private String nextKey() {
        return prefix + next++;
    }

    private Object rawFirstCall(String key) {
        return jdbi.withHandle(h -> {
            h.createUpdate(rawInsert).bind("key", key).bind("hash", HASH).execute();
            return h.createUpdate(rawUpdate).bind("key", key).bind("response", codec.encode(ORDER)).execute();
        });
    }

    /** A first call through the engine: validate, acquire (one statement), work, encode, complete (one statement). */
    @Benchmark
    public Order firstCallExecute() {
        return operation.execute(nextKey(), HASH, () -> ORDER);
    }

    /** The floor of a first call: INSERT ... ON CONFLICT DO NOTHING, encode, UPDATE, on one handle. */
    @Benchmark
    public Object firstCallRawInsertThenUpdate() {
        return rawFirstCall(nextKey());
    }

    /** A replay through the engine: validate, acquire (finds the completed record), check the hash, decode. */
    @Benchmark
    public Order replayExecute() {
        return operation.execute("replayed", HASH, () -> ORDER);
    }

    /** The floor of a replay: a primary-key SELECT of the stored result. */
    @Benchmark
    public byte[] replayRawSelectByKey() {
        return jdbi.withHandle(h -> h.createQuery(rawSelect).bind("key", "raw:replayed").mapTo(byte[].class).one());
    }

    /** The floor of a replay with the same decoding: a primary-key SELECT, then decode. */
    @Benchmark
    public Order replayRawSelectByKeyDecode() {
        return codec.decode(replayRawSelectByKey());
    }

    /** Transactional completion: acquire, then a transaction with the work's insert and the completion. */
    @Benchmark
    public Order transactionalExecute() {
        String key = nextKey();
        return transactional.execute(key, HASH, h -> {
            h.createUpdate(orderInsert).bind("key", key).bind("customer", ORDER.customer())
                    .bind("amount", ORDER.amountCents()).execute();
            return ORDER;
        });
    }

    /** The floor of transactional completion: the work's insert in a transaction of its own. */
    @Benchmark
    public Order transactionalRawOwnTransaction() {
        String key = nextKey();
        return jdbi.inTransaction(h -> {
            h.createUpdate(orderInsert).bind("key", key).bind("customer", ORDER.customer())
                    .bind("amount", ORDER.amountCents()).execute();
            return ORDER;
        });
    }
}
