package org.idempotency.jdbi;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.jdbi.internal.PostgresDialect;
import org.idempotency.jdbi.internal.Rows;
import org.idempotency.jdbi.internal.SqlDialect;
import org.idempotency.jdbi.internal.TableName;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.ColonPrefixSqlParser;
import org.jdbi.v3.core.statement.SqlParser;
import org.jdbi.v3.core.statement.SqlStatement;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SQL idempotency store on Jdbi 3, for PostgreSQL: one row per key in a table of your choice, created by
 * the shipped schema script ({@link #SCHEMA_RESOURCE}, or {@link #createSchema()}).
 *
 * <pre>{@code
 * JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi).table("idempotency_records").build();
 * store.createSchema(); // or apply the shipped script with your migrations
 * Idempotency idempotency = Idempotency.builder(store).build();
 * }</pre>
 *
 * <p>What it guarantees, beyond the {@link org.idempotency.api.spi.IdempotencyStore} contract:
 * <ul>
 *   <li><b>One statement per operation.</b> Acquire, takeover of an expired lease included, is one SQL
 *       statement (one round trip); a replay reads the row by primary key and writes nothing (no insert, no row
 *       lock, no token drawn). Complete, fail, release and extend are each one conditional statement on key,
 *       fencing token, status and visibility.</li>
 *   <li><b>The database clock decides</b> ({@code statement_timestamp()}: one instant per statement, current
 *       even inside a long transaction), so clock skew between application nodes cannot cause a double
 *       execution.</li>
 *   <li><b>Fencing tokens</b> come from a sequence of the table: never issued twice, and growing for a key
 *       across takeovers, releases and expiries. A released record is expired rather than deleted (invisible
 *       at once, removed by the next purge), so that the next owner's token is drawn under its row lock.</li>
 *   <li><b>Transactional completion</b> ({@link #transactional}): the work's database effects and the record's
 *       completion commit in one transaction, with the fencing check inside it.</li>
 *   <li><b>Purging</b> ({@link #purgeExpired()}) deletes expired rows in short batches of
 *       {@link Builder#purgeBatchSize} that skip locked rows; the engine schedules it.</li>
 *   <li><b>Faults</b> (connection lost, pool exhausted, constraint or syntax errors) surface as
 *       {@link IdempotencyStoreException} wrapping Jdbi's exception. A statement that failed with a serialization
 *       failure or a deadlock changed nothing and is run again, a few times, before it is reported.</li>
 * </ul>
 *
 * <p>Each operation runs on a handle of its own ({@link Jdbi#open()}) in auto-commit mode, never on a handle
 * the calling thread already holds, so a record is visible to other nodes as soon as the call returns, whatever
 * transaction the caller is in. The Jdbi must hand out connections in auto-commit mode (the JDBC default). The
 * store applies its own SQL parser and no template engine to its statements, so the Jdbi's configuration of
 * those does not matter.
 *
 * <p>Thread-safe. {@link #close()} closes only what the store was told to own ({@link Builder#closing}), such
 * as the pool that the {@code jdbi} provider builds from settings.
 */
public final class JdbiIdempotencyStore
        implements PurgeableIdempotencyStore, BatchAcquiringIdempotencyStore, AutoCloseable {

    /** The table name used when none is configured, and the one the schema script is written for. */
    public static final String DEFAULT_TABLE = PostgresDialect.SCRIPT_TABLE;
    /** The class-path resource holding the PostgreSQL schema script, written for {@link #DEFAULT_TABLE}. */
    public static final String SCHEMA_RESOURCE = PostgresDialect.SCHEMA_RESOURCE;
    /** How many expired rows one purge statement deletes, unless configured. */
    public static final int DEFAULT_PURGE_BATCH_SIZE = 1_000;

    private static final Logger LOG = LoggerFactory.getLogger(JdbiIdempotencyStore.class);
    /** One parser for every statement of every store, so its parse cache is shared. */
    private static final SqlParser PARSER = new ColonPrefixSqlParser();
    /** How often a statement that changed nothing (serialization failure, deadlock, no outcome) is run again. */
    private static final int MAX_ATTEMPTS = 10;
    /** Durations are bound as microseconds; longer ones are capped at about 100 years. */
    private static final long MAX_MICROS = TimeUnit.DAYS.toMicros(36_500);

    private final Jdbi jdbi;
    private final TableName table;
    private final SqlDialect dialect;
    private final SqlDialect.Statements sql;
    private final int purgeBatchSize;
    private final @Nullable AutoCloseable owned;

    private JdbiIdempotencyStore(Builder builder) {
        this.jdbi = builder.jdbi;
        this.table = builder.table;
        this.dialect = builder.dialect;
        this.sql = dialect.statements(table);
        this.purgeBatchSize = builder.purgeBatchSize;
        this.owned = builder.owned;
    }

    /** Starts configuring a store on the given Jdbi (whose data source points at the database). */
    public static Builder builder(Jdbi jdbi) {
        return new Builder(jdbi);
    }

    /** The Jdbi this store runs on; transactional completions run the work on it too. */
    public Jdbi jdbi() {
        return jdbi;
    }

    /** The table, as configured ({@code table} or {@code schema.table}). */
    public String table() {
        return table.toString();
    }

    /** How many expired rows one purge statement deletes. */
    public int purgeBatchSize() {
        return purgeBatchSize;
    }

    /**
     * The schema script rendered for this store's table: the sequence, the table and its index, each with
     * {@code IF NOT EXISTS}. Put it into your migrations, or run {@link #createSchema()}.
     */
    public String schemaScript() {
        return dialect.schemaScript(table);
    }

    /**
     * Creates the table, its sequence and its index if they do not exist, in one transaction. Several nodes
     * may call it at once: an advisory lock makes them take turns.
     *
     * @throws IdempotencyStoreException if the database refuses (no privilege, for example)
     */
    public void createSchema() {
        String script = schemaScript();
        try (Handle handle = jdbi.open()) {
            handle.useTransaction(h -> {
                prepare(h.createQuery(sql.schemaLock()))
                        .bind("lock_name", "idempotency-store-jdbi:" + table)
                        .map((rs, ctx) -> Boolean.TRUE)
                        .one();
                h.createScript(script).setTemplateEngine(TemplateEngine.NOP).executeAsSeparateStatements();
            });
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("Cannot create the idempotency schema for table '" + table + "'",
                    null, e);
        }
        LOG.debug("Created the idempotency schema for table {} (if it was missing)", table);
    }

    /**
     * Makes an operation transactional on this store: its work runs in a database transaction on this store's
     * Jdbi, and the record is completed inside that same transaction. See {@link TransactionalOperation}.
     *
     * @param operation an operation of an engine whose store is this store (or a wrapper of it)
     * @throws IllegalArgumentException if the operation's engine runs over another {@code JdbiIdempotencyStore}
     */
    public <T> TransactionalOperation<T> transactional(IdempotentOperation<T> operation) {
        Objects.requireNonNull(operation, "operation must not be null");
        if (operation.engine().store() instanceof JdbiIdempotencyStore other && other != this) {
            throw new IllegalArgumentException("Operation '" + operation.name() + "' runs over another store (table '"
                    + other.table + "'), not this one (table '" + table + "'): its records could not be completed"
                    + " in this store's transactions");
        }
        return new TransactionalOperation<>(operation, this, null);
    }

    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        long leaseMicros = micros(lease);
        for (int attempt = 1; ; attempt++) {
            AcquireResult result = run("acquire", key, handle -> prepare(handle.createQuery(sql.acquire()))
                    .bind("key", key)
                    .bind("request_hash", requestHash)
                    .bind("lease_us", leaseMicros)
                    .map((rs, ctx) -> Rows.acquireOutcome(key, rs, 1))
                    .findOne())
                    .orElse(null);
            if (result != null) {
                return result;
            }
            if (attempt == MAX_ATTEMPTS) {
                throw new IdempotencyStoreException("The idempotency store could not acquire a key that kept changing"
                        + " concurrently (" + MAX_ATTEMPTS + " attempts)", key, null);
            }
            LOG.debug("A concurrent change of key {} hid it from the acquire statement; running it again",
                    key);
        }
    }

    /**
     * Acquires all keys with one statement: each outcome is what {@link #acquire} would have returned. Keys
     * that a concurrent change hid from the statement are acquired again, in a smaller statement.
     */
    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        Objects.requireNonNull(requests, "requests must not be null");
        Set<String> distinct = new HashSet<>();
        for (AcquireRequest request : requests) {
            Objects.requireNonNull(request, "requests must not contain null");
            if (!distinct.add(request.key())) {
                throw new IllegalArgumentException("acquireAll needs distinct keys; '" + request.key()
                        + "' appears twice");
            }
        }
        long leaseMicros = micros(lease);
        AcquireResult[] results = new AcquireResult[requests.size()];
        List<Integer> pending = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            pending.add(i);
        }
        for (int attempt = 1; !pending.isEmpty(); attempt++) {
            String[] keys = new String[pending.size()];
            String[] hashes = new String[pending.size()];
            for (int i = 0; i < keys.length; i++) {
                AcquireRequest request = requests.get(pending.get(i));
                keys[i] = request.key();
                hashes[i] = request.requestHash();
            }
            String firstKey = keys[0];
            List<@Nullable AcquireResult> outcomes = run("acquire a batch of keys", firstKey,
                    handle -> prepare(handle.createQuery(sql.acquireAll()))
                            .bindArray("keys", String.class, (Object[]) keys)
                            .bindArray("request_hashes", String.class, (Object[]) hashes)
                            .bind("lease_us", leaseMicros)
                            .map((rs, ctx) -> Optional.ofNullable(
                                    Rows.acquireOutcome(keys[rs.getInt(1) - 1], rs, 2)))
                            .list())
                    .stream().map(outcome -> outcome.orElse(null)).toList();
            if (outcomes.size() != keys.length) {
                throw new IdempotencyStoreException("The batch acquire statement returned " + outcomes.size()
                        + " rows for " + keys.length + " keys", firstKey, null);
            }
            List<Integer> again = new ArrayList<>();
            for (int i = 0; i < outcomes.size(); i++) {
                AcquireResult outcome = outcomes.get(i);
                if (outcome == null) {
                    again.add(pending.get(i));
                } else {
                    results[pending.get(i)] = outcome;
                }
            }
            if (!again.isEmpty() && attempt == MAX_ATTEMPTS) {
                throw new IdempotencyStoreException("The idempotency store could not acquire " + again.size()
                        + " keys of a batch that kept changing concurrently (" + MAX_ATTEMPTS + " attempts)",
                        requests.get(again.get(0)).key(), null);
            }
            if (!again.isEmpty()) {
                LOG.debug("Concurrent changes hid {} keys from the batch acquire statement; running it again for them",
                        again.size());
            }
            pending = again;
        }
        return List.of(results);
    }

    @Override
    public boolean complete(String key, long fencingToken, StoredResult result, Duration retention) {
        return run("complete", key, handle -> completeOn(handle, key, fencingToken, result, retention));
    }

    /**
     * Completes a record on a connection the caller holds, inside the caller's transaction: the conditional
     * {@code UPDATE} of {@link #complete}, run on {@code connection} and left uncommitted, so that the record is
     * completed if and only if the caller's transaction commits. For transaction managers that own the
     * connection (Spring's, for example); {@link #transactional} does the same with a Jdbi transaction. The
     * connection must reach this store's table; it is neither committed, rolled back nor closed here.
     *
     * @param connection the transaction's connection, in the same database as the store
     * @param key the stored key ({@code operation:key})
     * @param fencingToken the token of the execution that completes
     * @param result the encoded result
     * @param retention how long the completed record is kept
     * @return {@code true} if the record was completed (pending the commit); {@code false} if the token no longer
     *     owns it, in which case the caller must roll back
     * @throws IdempotencyStoreException if the statement fails
     */
    public boolean completeOn(Connection connection, String key, long fencingToken, StoredResult result,
            Duration retention) {
        Objects.requireNonNull(connection, "connection must not be null");
        // a handle on the caller's connection: created inside the transaction, it neither ends it nor closes it
        try (Handle handle = Jdbi.create(connection).open()) {
            return completeOn(handle, key, fencingToken, result, retention);
        } catch (RuntimeException e) {
            throw new IdempotencyStoreException("The idempotency store failed to complete a record in the"
                    + " caller's transaction", key, e);
        }
    }

    /**
     * The completion statement on a given handle: inside a transactional completion, the transaction's own.
     * Throws Jdbi's exceptions unwrapped.
     */
    boolean completeOn(Handle handle, String key, long fencingToken, StoredResult result, Duration retention) {
        return prepare(handle.createUpdate(sql.complete()))
                .bind("key", key)
                .bind("token", fencingToken)
                .bind("retention_us", micros(retention))
                .bind("status_code", result.statusCode())
                .bind("response", result.payload())
                .execute() == 1;
    }

    @Override
    public boolean fail(String key, long fencingToken, StoredFailure failure, Duration retention) {
        return run("record a failure", key, handle -> prepare(handle.createUpdate(sql.fail()))
                .bind("key", key)
                .bind("token", fencingToken)
                .bind("retention_us", micros(retention))
                .bind("error_type", failure.type())
                .bind("error_message", failure.message())
                .execute() == 1);
    }

    @Override
    public boolean release(String key, long fencingToken) {
        return run("release", key, handle -> prepare(handle.createUpdate(sql.release()))
                .bind("key", key)
                .bind("token", fencingToken)
                .execute() == 1);
    }

    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        return run("extend the lease", key, handle -> prepare(handle.createUpdate(sql.extend()))
                .bind("key", key)
                .bind("token", fencingToken)
                .bind("lease_us", micros(lease))
                .execute() == 1);
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        return run("find a record", key, handle -> prepare(handle.createQuery(sql.find()))
                .bind("key", key)
                .map((rs, ctx) -> Rows.record(key, rs, 1))
                .findOne());
    }

    /**
     * Deletes every expired row, in statements of at most {@link #purgeBatchSize()} rows, each its own short
     * transaction that skips rows locked by concurrent operations, until a statement finds fewer than a full
     * batch.
     *
     * @return how many rows were deleted
     */
    @Override
    public long purgeExpired() {
        long total = 0;
        while (true) {
            int deleted = run("purge expired records", null, handle -> prepare(handle.createUpdate(sql.purgeBatch()))
                    .bind("batch_size", purgeBatchSize)
                    .execute());
            total += deleted;
            if (deleted < purgeBatchSize) {
                return total;
            }
        }
    }

    /** Closes what the store was told to own ({@link Builder#closing}); otherwise does nothing. */
    @Override
    public void close() {
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                LOG.warn("Closing the resources of the idempotency store on table {} failed", table, e);
            }
        }
    }

    @Override
    public String toString() {
        return "JdbiIdempotencyStore[" + dialect.name() + " table " + table + "]";
    }

    /** The statement configuration every statement of the store uses, whatever the Jdbi's own settings. */
    static <S extends SqlStatement<S>> S prepare(S statement) {
        return statement.setSqlParser(PARSER).setTemplateEngine(TemplateEngine.NOP);
    }

    private interface Action<R> {
        R apply(Handle handle);
    }

    /**
     * Runs one statement on a handle of its own, retrying statements that changed nothing; wraps every fault
     * in {@link IdempotencyStoreException}.
     */
    private <R> R run(String action, @Nullable String key, Action<R> statement) {
        for (int attempt = 1; ; attempt++) {
            try (Handle handle = jdbi.open()) {
                return statement.apply(handle);
            } catch (RuntimeException e) {
                if (attempt < MAX_ATTEMPTS && retryable(e)) {
                    LOG.debug("Statement to {} key {} failed transiently, running it again: {}", action, key,
                            e.toString());
                    continue;
                }
                throw new IdempotencyStoreException("The idempotency store failed to " + action, key, e);
            }
        }
    }

    private boolean retryable(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sqlError && dialect.isRetryable(sqlError)) {
                return true;
            }
        }
        return false;
    }

    private static long micros(Duration duration) {
        return Math.max(1, Math.min(MAX_MICROS, TimeUnit.MICROSECONDS.convert(duration)));
    }

    /**
     * Configures a {@link JdbiIdempotencyStore}. Each setter validates its argument. Not thread-safe.
     */
    public static final class Builder {
        private final Jdbi jdbi;
        private TableName table = TableName.parse(DEFAULT_TABLE);
        private final SqlDialect dialect = new PostgresDialect();
        private int purgeBatchSize = DEFAULT_PURGE_BATCH_SIZE;
        private @Nullable AutoCloseable owned;

        private Builder(Jdbi jdbi) {
            this.jdbi = Objects.requireNonNull(jdbi, "jdbi must not be null");
        }

        /**
         * The table holding the records (default {@value JdbiIdempotencyStore#DEFAULT_TABLE}), optionally with
         * its schema ({@code schema.table}). Each part is a lower-case SQL identifier ({@code [a-z_][a-z0-9_]*},
         * the table at most 48 characters), so configuration cannot inject SQL.
         *
         * @throws IllegalArgumentException naming the rule the name breaks
         */
        public Builder table(String table) {
            this.table = TableName.parse(table);
            return this;
        }

        /** How many expired rows one purge statement deletes (default 1,000); each batch is one short transaction. */
        public Builder purgeBatchSize(int purgeBatchSize) {
            if (purgeBatchSize < 1) {
                throw new IllegalArgumentException("purgeBatchSize must be positive, was " + purgeBatchSize);
            }
            this.purgeBatchSize = purgeBatchSize;
            return this;
        }

        /**
         * A resource the store owns and closes in {@link JdbiIdempotencyStore#close()}, such as the connection
         * pool the Jdbi was built on.
         */
        public Builder closing(AutoCloseable resource) {
            this.owned = Objects.requireNonNull(resource, "resource must not be null");
            return this;
        }

        /** Builds the store. It does not touch the database: see {@link JdbiIdempotencyStore#createSchema()}. */
        public JdbiIdempotencyStore build() {
            return new JdbiIdempotencyStore(this);
        }
    }
}
