package org.idempotency.jdbi;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.jdbi.internal.Faults;
import org.idempotency.jdbi.internal.MariaDbDialect;
import org.idempotency.jdbi.internal.PostgresDialect;
import org.idempotency.jdbi.internal.Rows;
import org.idempotency.jdbi.internal.SqlDialect;
import org.idempotency.jdbi.internal.StoredText;
import org.idempotency.jdbi.internal.TableName;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.statement.ColonPrefixSqlParser;
import org.jdbi.v3.core.statement.SqlParser;
import org.jdbi.v3.core.statement.SqlStatement;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SQL idempotency store on Jdbi 3, for PostgreSQL and MariaDB ({@link SqlDatabase}): one row per key in a
 * table of your choice, created by the shipped schema script ({@link #SCHEMA_RESOURCE},
 * {@link #MARIADB_SCHEMA_RESOURCE}, or {@link #createSchema()}).
 *
 * <pre>{@code
 * JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi).table("idempotency_records").build();
 * store.createSchema(); // or apply the shipped script with your migrations
 * Idempotency idempotency = Idempotency.builder(store).build();
 * // on MariaDB: JdbiIdempotencyStore.builder(jdbi).database(SqlDatabase.MARIADB)...
 * }</pre>
 *
 * <p>What it guarantees, beyond the {@link org.idempotency.api.spi.IdempotencyStore} contract (where MariaDB
 * differs, it says so; docs/sql.md has the details):
 * <ul>
 *   <li><b>One statement per operation.</b> Acquire, takeover of an expired lease included, is one SQL
 *       statement (one round trip); a replay reads the row by primary key and writes nothing (no insert, no row
 *       lock, no token drawn). On MariaDB a replay goes through the same upsert: it locks the row for the
 *       statement and spends a sequence value, and writes nothing. Complete, fail, release and extend are each
 *       one conditional statement on key, fencing token, status and visibility. On MariaDB, {@link #acquireAll}
 *       and {@link #extendAll} run the single-key statement for each key.</li>
 *   <li><b>The database clock decides</b> ({@code statement_timestamp()} on PostgreSQL, {@code UTC_TIMESTAMP(6)}
 *       on MariaDB: one instant per statement, current even inside a long transaction), so clock skew between
 *       application nodes cannot cause a double execution.</li>
 *   <li><b>Fencing tokens</b> come from a sequence of the table: never issued twice, and growing for a key
 *       across takeovers, releases and expiries. A released record is expired rather than deleted (invisible
 *       at once, removed by the next purge), so that the next owner's token is drawn under its row lock.</li>
 *   <li><b>Transactional completion</b> ({@link #transactional}): the work's database effects and the record's
 *       completion commit in one transaction, with the fencing check inside it.</li>
 *   <li><b>Purging</b> ({@link #purgeExpired()}) deletes expired rows in short batches of
 *       {@link Builder#purgeBatchSize} that skip locked rows; the engine schedules it.</li>
 *   <li><b>Bounded lock waits.</b> No statement waits longer than {@link Builder#lockTimeout} for a row lock
 *       that another transaction holds (a transactional completion that stalls before its commit holds its
 *       record's lock): an acquire then answers that the key is in progress, and the other statements fail having
 *       changed nothing, so callers do not pile up on a stalled record, holding pool connections.</li>
 *   <li><b>Renewal apart.</b> Lease renewals ({@link #extend}, and {@link #extendAll}, which renews a batch with
 *       one statement that waits for no lock) run on {@link Builder#renewalJdbi}, when given, so that a pool taken
 *       by callers cannot starve them.</li>
 *   <li><b>Interrupts.</b> A call on an interrupted thread waits for its connection all the same (HikariCP
 *       would refuse to) and reports what the database did; the interrupt stays set for the caller.</li>
 *   <li><b>Faults</b> (connection lost, pool exhausted, constraint or syntax errors) surface as
 *       {@link IdempotencyStoreException}. Its cause is the driver's error without the data that the driver and
 *       Jdbi quote in their messages (PostgreSQL's {@code Failing row contains (...)}, the statement's arguments):
 *       the error's class, primary message, SQL state and stack trace are kept, so the exception can be logged
 *       without logging request or response data. A statement that failed with a serialization failure or a
 *       deadlock changed nothing and is run again, a few times, before it is reported.</li>
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
public final class JdbiIdempotencyStore implements PurgeableIdempotencyStore, BatchAcquiringIdempotencyStore,
        BatchExtendingIdempotencyStore, BatchCompletingIdempotencyStore, ForgettingIdempotencyStore, AutoCloseable {

    /** The table name used when none is configured, and the one the schema script is written for. */
    public static final String DEFAULT_TABLE = PostgresDialect.SCRIPT_TABLE;
    /** The class-path resource holding the PostgreSQL schema script, written for {@link #DEFAULT_TABLE}. */
    public static final String SCHEMA_RESOURCE = PostgresDialect.SCHEMA_RESOURCE;
    /** The class-path resource holding the MariaDB schema script, written for {@link #DEFAULT_TABLE}. */
    public static final String MARIADB_SCHEMA_RESOURCE = MariaDbDialect.SCHEMA_RESOURCE;
    /** How many expired rows one purge statement deletes, unless configured. */
    public static final int DEFAULT_PURGE_BATCH_SIZE = 1_000;
    /** How long a statement waits for a row lock at most, in milliseconds, unless configured. */
    public static final long DEFAULT_LOCK_TIMEOUT_MILLIS = 200;
    /** {@link #DEFAULT_LOCK_TIMEOUT_MILLIS} as a duration. */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofMillis(DEFAULT_LOCK_TIMEOUT_MILLIS);

    private static final Logger LOG = LoggerFactory.getLogger(JdbiIdempotencyStore.class);
    /** One parser for every statement of every store, so its parse cache is shared. */
    private static final SqlParser PARSER = new ColonPrefixSqlParser();
    /** How often a statement that changed nothing (serialization failure, deadlock, no outcome) is run again. */
    private static final int MAX_ATTEMPTS = 10;
    /** Durations are bound as microseconds; longer ones are capped at about 100 years. */
    private static final long MAX_MICROS = TimeUnit.DAYS.toMicros(36_500);

    private final Jdbi jdbi;
    private final Jdbi renewalJdbi;
    private final TableName table;
    private final SqlDatabase database;
    private final SqlDialect dialect;
    private final SqlDialect.Statements sql;
    /** The dialect's batch completion, or {@code null} to complete record by record. */
    private final @Nullable String completeAllSql;
    /** The dialect's forget statement, or {@code null} if it cannot forget. */
    private final @Nullable String forgetSql;
    private final Duration lockTimeout;
    private final int purgeBatchSize;
    private final List<AutoCloseable> owned;

    private JdbiIdempotencyStore(Builder builder) {
        this.jdbi = builder.jdbi;
        this.renewalJdbi = builder.renewalJdbi == null ? builder.jdbi : builder.renewalJdbi;
        this.table = builder.table;
        this.database = builder.database;
        this.dialect = builder.database.dialect();
        this.lockTimeout = builder.lockTimeout;
        this.sql = dialect.statements(table, lockTimeout.toMillis());
        this.completeAllSql = dialect.completeAll(table, lockTimeout.toMillis());
        this.forgetSql = dialect.forget(table, lockTimeout.toMillis());
        this.purgeBatchSize = builder.purgeBatchSize;
        this.owned = List.copyOf(builder.owned);
    }

    /**
     * Starts configuring a store on the given Jdbi (whose data source points at the database).
     *
     * @param jdbi the Jdbi the store's statements and transactional completions run on
     * @return a builder with the defaults
     */
    public static Builder builder(Jdbi jdbi) {
        return new Builder(jdbi);
    }

    /**
     * The Jdbi this store runs on; transactional completions run the work on it too.
     *
     * @return the main Jdbi
     */
    public Jdbi jdbi() {
        return jdbi;
    }

    /**
     * The Jdbi that lease renewals ({@link #extend}, {@link #extendAll}) run on: the one given to
     * {@link Builder#renewalJdbi}, else {@link #jdbi()}.
     *
     * @return the Jdbi of lease renewals
     */
    public Jdbi renewalJdbi() {
        return renewalJdbi;
    }

    /**
     * The longest a statement of the store waits for a row lock that another transaction holds.
     *
     * @return the bound, in whole milliseconds
     */
    public Duration lockTimeout() {
        return lockTimeout;
    }

    /**
     * The table, as configured.
     *
     * @return {@code table} or {@code schema.table}
     */
    public String table() {
        return table.toString();
    }

    /**
     * The database this store's SQL is written for.
     *
     * @return the database chosen with {@link Builder#database} ({@link SqlDatabase#POSTGRESQL} by default)
     */
    public SqlDatabase database() {
        return database;
    }

    /**
     * How many expired rows one purge statement deletes.
     *
     * @return the batch size
     */
    public int purgeBatchSize() {
        return purgeBatchSize;
    }

    /**
     * The schema script rendered for this store's table: the sequence, the table and its index, each with
     * {@code IF NOT EXISTS}. Put it into your migrations, or run {@link #createSchema()}.
     *
     * @return the script, plain SQL statements separated by semicolons
     */
    public String schemaScript() {
        return dialect.schemaScript(table);
    }

    /**
     * Creates the table, its sequence and its index if they do not exist, in one transaction (on MariaDB, whose
     * DDL commits statement by statement, as a series of idempotent statements, without the lock). Several nodes
     * may call it at once: an advisory lock makes them take turns. When all three exist, it only checks that
     * they do, and takes no lock: {@code CREATE INDEX IF NOT EXISTS} would wait for every transaction writing to
     * the table, and make every later writer wait behind it. When something is missing, the script's waits for
     * locks are bounded by {@link #lockTimeout()}.
     *
     * @throws IdempotencyStoreException if the database refuses (no privilege, for example), or the table is
     *     locked by other transactions for longer than the lock timeout
     */
    public void createSchema() {
        String script = schemaScript();
        String schemaLock = sql.schemaLock();
        String schemaLockBound = sql.schemaLockBound();
        try (Handle handle = open(jdbi)) {
            if (Boolean.TRUE.equals(prepare(handle.createQuery(sql.schemaExists())).mapTo(Boolean.class).one())) {
                LOG.debug("The idempotency schema for table {} exists", table);
                return;
            }
            if (schemaLock == null || schemaLockBound == null) {
                // DDL that commits statement by statement (MariaDB): the script's statements are idempotent
                handle.createScript(script).setTemplateEngine(TemplateEngine.NOP).executeAsSeparateStatements();
            } else {
                handle.useTransaction(h -> {
                    prepare(h.createQuery(schemaLock))
                            .bind("lock_name", "idempotency-store-jdbi:" + table)
                            .map((rs, ctx) -> Boolean.TRUE)
                            .one();
                    h.createUpdate(schemaLockBound).setTemplateEngine(TemplateEngine.NOP).execute();
                    h.createScript(script).setTemplateEngine(TemplateEngine.NOP).executeAsSeparateStatements();
                });
            }
        } catch (RuntimeException e) {
            throw fault("Cannot create the idempotency schema for table '" + table + "'", null, e);
        }
        LOG.debug("Created the idempotency schema for table {} (if it was missing)", table);
    }

    /**
     * Makes an operation transactional on this store: its work runs in a database transaction on this store's
     * Jdbi, and the record is completed inside that same transaction. See {@link TransactionalOperation}.
     *
     * @param <T> the result type
     * @param operation an operation of an engine whose store is this store (or a wrapper of it)
     * @return the transactional form of the operation
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

    /**
     * {@inheritDoc}
     *
     * <p>When the key's row is locked by another transaction for longer than {@link #lockTimeout()} (a
     * transactional completion that stalls before its commit, for example), the key is answered as in progress:
     * with the row as it was last committed if it is visible, otherwise as an in-progress record without a
     * request hash whose lease ends now.
     */
    @Override
    public AcquireResult acquire(String key, @Nullable String requestHash, Duration lease) {
        checkKeyLength(key);
        long leaseMicros = micros(lease);
        for (int attempt = 1; ; attempt++) {
            AcquireResult result = run("acquire", key, jdbi, handle -> {
                try {
                    return prepare(handle.createQuery(sql.acquire()))
                            .bind("key", key)
                            .bind("request_hash", StoredText.encode(requestHash))
                            .bind("lease_us", leaseMicros)
                            .map((rs, ctx) -> Rows.acquireOutcome(key, rs, 1, dialect))
                            .findOne();
                } catch (RuntimeException e) {
                    if (!lockTimedOut(e)) {
                        throw e;
                    }
                    return inProgressWhileLocked(handle, key, lease);
                }
            }).orElse(null);
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
     * The answer to an acquire that could not lock the key's row in time: the row as last committed, or, when
     * that is no longer visible (it expired while the other transaction held it), an in-progress record; empty
     * when there is no row at all (an insert that has not committed), to run the acquire again.
     */
    private Optional<AcquireResult> inProgressWhileLocked(Handle handle, String key, Duration lease) {
        LOG.debug("The record of key {} is locked by another transaction; answering that it is in progress", key);
        return prepare(handle.createQuery(sql.inspect()))
                .bind("key", key)
                .map((rs, ctx) -> {
                    if (rs.getBoolean(Rows.RECORD_COLUMN_COUNT + 1)) {
                        return (AcquireResult) new AcquireResult.Existing(Rows.record(key, rs, 1, dialect));
                    }
                    Instant now = Objects.requireNonNull(dialect.instant(rs, Rows.RECORD_COLUMN_COUNT + 2),
                            "the database's time");
                    long token = rs.getLong(3);
                    return new AcquireResult.Existing(IdempotencyRecord.inProgress(key, null, token, now,
                            now.plus(lease)));
                })
                .findOne();
    }

    /**
     * Acquires all keys with one statement: each outcome is what {@link #acquire} would have returned. Keys
     * that a concurrent change hid from the statement are acquired again, in a smaller statement. When a key's
     * row is locked for longer than {@link #lockTimeout()}, the statement changes nothing and each key is
     * acquired on its own instead.
     */
    @Override
    public List<AcquireResult> acquireAll(List<AcquireRequest> requests, Duration lease) {
        checkBatch("acquireAll", "requests", requests, AcquireRequest::key, JdbiIdempotencyStore::checkKeyLength);
        long leaseMicros = micros(lease);
        String acquireAll = sql.acquireAll();
        if (acquireAll == null) {
            List<AcquireResult> each = new ArrayList<>(requests.size());
            for (AcquireRequest request : requests) {
                each.add(acquire(request.key(), request.requestHash(), lease));
            }
            return List.copyOf(each);
        }
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
                hashes[i] = StoredText.encode(request.requestHash());
            }
            String firstKey = keys[0];
            Optional<List<Optional<AcquireResult>>> batch = run("acquire a batch of keys", firstKey, jdbi, handle -> {
                try {
                    return Optional.of(prepare(handle.createQuery(acquireAll))
                            .bindArray("keys", String.class, (Object[]) keys)
                            .bindArray("request_hashes", String.class, (Object[]) hashes)
                            .bind("lease_us", leaseMicros)
                            .map((rs, ctx) -> Optional.ofNullable(
                                    Rows.acquireOutcome(keys[rs.getInt(1) - 1], rs, 2, dialect)))
                            .list());
                } catch (RuntimeException e) {
                    if (!lockTimedOut(e)) {
                        throw e;
                    }
                    return Optional.empty();
                }
            });
            if (batch.isEmpty()) {
                LOG.debug("A row of a batch of {} keys is locked by another transaction; acquiring each key on its"
                        + " own", keys.length);
                for (int i = 0; i < keys.length; i++) {
                    results[pending.get(i)] = acquire(keys[i], requests.get(pending.get(i)).requestHash(), lease);
                }
                break;
            }
            List<@Nullable AcquireResult> outcomes = batch.get().stream().map(outcome -> outcome.orElse(null))
                    .toList();
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
        return run("complete", key, jdbi, handle -> completeOn(handle, key, fencingToken, result, retention));
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
        return run("record a failure", key, jdbi, handle -> prepare(handle.createUpdate(sql.fail()))
                .bind("key", key)
                .bind("token", fencingToken)
                .bind("retention_us", micros(retention))
                .bind("error_type", StoredText.encode(failure.type()))
                .bind("error_message", StoredText.encode(failure.message()))
                .execute() == 1);
    }

    @Override
    public boolean release(String key, long fencingToken) {
        return run("release", key, jdbi, handle -> prepare(handle.createUpdate(sql.release()))
                .bind("key", key)
                .bind("token", fencingToken)
                .execute() == 1);
    }

    /** {@inheritDoc} Runs on the {@linkplain #renewalJdbi() renewal Jdbi}. */
    @Override
    public boolean extend(String key, long fencingToken, Duration lease) {
        return run("extend the lease", key, renewalJdbi, handle -> prepare(handle.createUpdate(sql.extend()))
                .bind("key", key)
                .bind("token", fencingToken)
                .bind("lease_us", micros(lease))
                .execute() == 1);
    }

    /**
     * Renews many leases with one statement on the {@linkplain #renewalJdbi() renewal Jdbi}: each outcome is what
     * {@link #extend} would have returned. The statement locks the owned rows in key order and waits for no lock:
     * a row that another transaction holds (an owner's transactional completion waiting for its commit, say) is
     * asked about again with {@link #extend}, whose wait is bounded by {@link #lockTimeout()}; the other keys are
     * renewed meanwhile, so one locked row does not hold up the renewal of the rest.
     *
     * @throws IdempotencyStoreException if the statement fails, or a locked row stays locked for longer than the
     *     lock timeout (the other keys' leases are renewed then)
     */
    @Override
    public List<Boolean> extendAll(List<OwnedKey> keys, Duration lease) {
        checkBatch("extendAll", "keys", keys, OwnedKey::key, key -> { });
        if (keys.isEmpty()) {
            return List.of();
        }
        String extendAll = sql.extendAll();
        if (extendAll == null) {
            List<Boolean> each = new ArrayList<>(keys.size());
            for (OwnedKey owned : keys) {
                each.add(extend(owned.key(), owned.fencingToken(), lease));
            }
            return List.copyOf(each);
        }
        long leaseMicros = micros(lease);
        String[] storedKeys = new String[keys.size()];
        Long[] tokens = new Long[keys.size()];
        for (int i = 0; i < storedKeys.length; i++) {
            storedKeys[i] = keys.get(i).key();
            tokens[i] = keys.get(i).fencingToken();
        }
        List<boolean[]> rows = run("renew a batch of leases", storedKeys[0], renewalJdbi,
                handle -> prepare(handle.createQuery(extendAll))
                        .bindArray("keys", String.class, (Object[]) storedKeys)
                        .bindArray("tokens", Long.class, (Object[]) tokens)
                        .bind("lease_us", leaseMicros)
                        .map((rs, ctx) -> new boolean[] {rs.getBoolean(2), rs.getBoolean(3)})
                        .list());
        if (rows.size() != storedKeys.length) {
            throw new IdempotencyStoreException("The batch renewal statement returned " + rows.size() + " rows for "
                    + storedKeys.length + " keys", storedKeys[0], null);
        }
        Boolean[] renewed = new Boolean[storedKeys.length];
        for (int i = 0; i < renewed.length; i++) {
            boolean wasRenewed = rows.get(i)[0];
            boolean wasOwned = rows.get(i)[1];
            if (wasRenewed || !wasOwned) {
                renewed[i] = wasRenewed;
            } else {
                // owned, but locked by another transaction (or changed meanwhile): ask again, waiting boundedly
                renewed[i] = extend(storedKeys[i], tokens[i], lease);
            }
        }
        return List.of(renewed);
    }

    /**
     * Completes many records with one statement where the dialect has one (PostgreSQL): each outcome is what
     * {@link #complete} would have returned, with the fencing token checked per record. Like {@link #extendAll},
     * the statement locks the owned rows in key order and waits for no lock: a row that another transaction holds
     * is completed again with {@link #complete}, whose wait is bounded by {@link #lockTimeout()}. A dialect without
     * the statement completes record by record.
     *
     * @throws IdempotencyStoreException if the statement fails (nothing was completed), or a locked row stays
     *     locked for longer than the lock timeout (the other records are completed then)
     */
    @Override
    public List<Boolean> completeAll(List<CompleteRequest> completions, Duration retention) {
        checkBatch("completeAll", "completions", completions, CompleteRequest::key, key -> { });
        if (completions.isEmpty()) {
            return List.of();
        }
        String statement = completeAllSql;
        if (statement == null) {
            List<Boolean> results = new ArrayList<>(completions.size());
            for (CompleteRequest completion : completions) {
                results.add(complete(completion.key(), completion.fencingToken(), completion.result(), retention));
            }
            return List.copyOf(results);
        }
        long retentionMicros = micros(retention);
        int size = completions.size();
        String[] storedKeys = new String[size];
        Long[] tokens = new Long[size];
        Integer[] statusCodes = new Integer[size];
        byte[][] responses = new byte[size][];
        for (int i = 0; i < size; i++) {
            CompleteRequest completion = completions.get(i);
            storedKeys[i] = completion.key();
            tokens[i] = completion.fencingToken();
            statusCodes[i] = completion.result().statusCode();
            responses[i] = completion.result().payload();
        }
        List<boolean[]> rows = run("complete a batch of records", storedKeys[0], jdbi,
                handle -> prepare(handle.createQuery(statement))
                        .bindArray("keys", String.class, (Object[]) storedKeys)
                        .bindArray("tokens", Long.class, (Object[]) tokens)
                        .bindArray("status_codes", Integer.class, (Object[]) statusCodes)
                        // a bytea[] from the byte[][] itself: the driver encodes nested byte arrays, Jdbi's arrays not
                        .bind("responses", (Argument) (position, sqlStatement, context) -> sqlStatement.setArray(
                                position, sqlStatement.getConnection().createArrayOf("bytea", responses)))
                        .bind("retention_us", retentionMicros)
                        .map((rs, ctx) -> new boolean[] {rs.getBoolean(2), rs.getBoolean(3)})
                        .list());
        if (rows.size() != size) {
            throw new IdempotencyStoreException("The batch completion statement returned " + rows.size()
                    + " rows for " + size + " records", storedKeys[0], null);
        }
        Boolean[] completed = new Boolean[size];
        for (int i = 0; i < size; i++) {
            boolean wasCompleted = rows.get(i)[0];
            boolean wasOwned = rows.get(i)[1];
            if (wasCompleted || !wasOwned) {
                completed[i] = wasCompleted;
            } else {
                // owned, but locked by another transaction (or changed meanwhile): ask again, waiting boundedly
                CompleteRequest completion = completions.get(i);
                completed[i] = complete(completion.key(), completion.fencingToken(), completion.result(), retention);
            }
        }
        return List.of(completed);
    }

    /**
     * Makes the record of the token invisible, whatever its state, with one conditional statement; the key's next
     * acquire replaces it with a new, larger token.
     *
     * @throws UnsupportedOperationException if the store's dialect cannot forget records
     */
    @Override
    public boolean forget(String key, long fencingToken) {
        Objects.requireNonNull(key, "key must not be null");
        String statement = forgetSql;
        if (statement == null) {
            throw new UnsupportedOperationException("The " + dialect.name() + " dialect of the idempotency store"
                    + " cannot forget records (key '" + IdempotencyException.safeKey(key) + "')");
        }
        return run("forget a record", key, jdbi, handle -> prepare(handle.createUpdate(statement))
                .bind("key", key)
                .bind("token", fencingToken)
                .execute() == 1);
    }

    @Override
    public Optional<IdempotencyRecord> find(String key) {
        return run("find a record", key, jdbi, handle -> prepare(handle.createQuery(sql.find()))
                .bind("key", key)
                .map((rs, ctx) -> Rows.record(key, rs, 1, dialect))
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
            int deleted = run("purge expired records", null, jdbi,
                    handle -> prepare(handle.createUpdate(sql.purgeBatch()))
                            .bind("batch_size", purgeBatchSize)
                            .execute());
            total += deleted;
            if (deleted < purgeBatchSize) {
                return total;
            }
        }
    }

    /** Closes what the store was told to own ({@link Builder#closing}), in that order; otherwise does nothing. */
    @Override
    public void close() {
        for (AutoCloseable resource : owned) {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.warn("Closing a resource of the idempotency store on table {} failed: {}", table, describe(e));
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
     * Runs one statement on a handle of its own from {@code on}, retrying statements that changed nothing; wraps
     * every fault in {@link IdempotencyStoreException}.
     */
    private <R> R run(String action, @Nullable String key, Jdbi on, Action<R> statement) {
        for (int attempt = 1; ; attempt++) {
            try (Handle handle = open(on)) {
                return statement.apply(handle);
            } catch (RuntimeException e) {
                if (attempt < MAX_ATTEMPTS && retryable(e)) {
                    LOG.debug("Statement to {} key {} failed transiently, running it again: {}", action, key,
                            Faults.describe(e, dialect));
                    continue;
                }
                String locked = lockTimedOut(e) ? ": its record stayed locked by another transaction for longer than"
                        + " the lock timeout (" + lockTimeout.toMillis() + " ms); nothing was changed" : "";
                throw fault("The idempotency store failed to " + action + locked, key, e);
            }
        }
    }

    /** Whether a statement failed because a row stayed locked for longer than the lock timeout. */
    private boolean lockTimedOut(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sqlError && dialect.isLockTimeout(sqlError)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Opens a handle whatever the calling thread's interrupt status. HikariCP does not wait for a connection on
     * an interrupted thread ({@code Interrupted during connection acquisition}): a call would fail although
     * nothing was sent. So the interrupt is cleared while the pool is asked, and set again before this method
     * returns; an interrupt that arrives during the wait makes it ask again. The wait stays bounded by the pool's
     * connection timeout. The PostgreSQL driver runs a statement to its end on an interrupted thread, so the
     * call then reports what the database did, and the caller finds its interrupt still set.
     */
    Handle open(Jdbi on) {
        boolean interrupted = Thread.interrupted();
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    return on.open();
                } catch (RuntimeException e) {
                    if (Thread.interrupted() && attempt < MAX_ATTEMPTS) {
                        interrupted = true; // interrupted while waiting: nothing was sent, ask again
                        continue;
                    }
                    throw e;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * A store exception for a database fault, whose cause chain keeps the errors' kinds and stack traces but not
     * the rows and arguments that the driver and Jdbi quote in their messages (see {@link Faults}).
     */
    IdempotencyStoreException fault(String message, @Nullable String key, Throwable error) {
        return new IdempotencyStoreException(message, key, Faults.withoutData(error, dialect));
    }

    /** A database fault without the data its messages may quote, to attach to another exception. */
    Throwable withoutData(Throwable error) {
        return Faults.withoutData(error, dialect);
    }

    /** A database fault described for a log line, without the data its messages may quote. */
    String describe(Throwable error) {
        return Faults.describe(error, dialect);
    }

    private boolean retryable(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sqlError && dialect.isRetryable(sqlError)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Refuses a key longer than the SPI allows before it reaches a column that holds exactly that much: MariaDB
     * outside strict mode would cut it to fit, and two keys would share a record.
     */
    /**
     * The checks every batch call makes of its list before any statement: neither it nor an item is {@code null},
     * and no key is in it twice; {@code eachKey} checks each key first.
     */
    private static <R> void checkBatch(String call, String listName, List<R> items, Function<R, String> keyOf,
            Consumer<String> eachKey) {
        Objects.requireNonNull(items, listName + " must not be null");
        Set<String> distinct = new HashSet<>();
        for (R item : items) {
            Objects.requireNonNull(item, listName + " must not contain null");
            String key = keyOf.apply(item);
            eachKey.accept(key);
            if (!distinct.add(key)) {
                throw new IllegalArgumentException(call + " needs distinct keys; '" + IdempotencyException.safeKey(key)
                        + "' appears twice");
            }
        }
    }

    private static void checkKeyLength(String key) {
        Objects.requireNonNull(key, "key must not be null");
        if (key.length() * 3L > MAX_KEY_BYTES && key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("Key '" + IdempotencyException.safeKey(key) + "' is "
                    + key.getBytes(StandardCharsets.UTF_8).length + " UTF-8 bytes long; stores keep at most "
                    + MAX_KEY_BYTES + " (IdempotencyStore.MAX_KEY_BYTES)");
        }
    }

        private static long micros(Duration duration) {
        return Math.max(1, Math.min(MAX_MICROS, TimeUnit.MICROSECONDS.convert(duration)));
    }

    /**
     * Configures a {@link JdbiIdempotencyStore}. Each setter validates its argument. Not thread-safe.
     */
    public static final class Builder {
        private final Jdbi jdbi;
        private @Nullable Jdbi renewalJdbi;
        private TableName table = TableName.parse(DEFAULT_TABLE);
        private SqlDatabase database = SqlDatabase.POSTGRESQL;
        private Duration lockTimeout = DEFAULT_LOCK_TIMEOUT;
        private int purgeBatchSize = DEFAULT_PURGE_BATCH_SIZE;
        private final List<AutoCloseable> owned = new ArrayList<>();

        private Builder(Jdbi jdbi) {
            this.jdbi = Objects.requireNonNull(jdbi, "jdbi must not be null");
        }

        /**
         * The table holding the records (default {@value JdbiIdempotencyStore#DEFAULT_TABLE}), optionally with
         * its schema ({@code schema.table}). Each part is a lower-case SQL identifier ({@code [a-z_][a-z0-9_]*},
         * the table at most 48 characters), so configuration cannot inject SQL.
         *
         * @param table the table's name
         * @return this builder
         * @throws IllegalArgumentException naming the rule the name breaks
         */
        public Builder table(String table) {
            this.table = TableName.parse(table);
            return this;
        }

        /**
         * The database the Jdbi points at (default {@link SqlDatabase#POSTGRESQL}): it chooses the SQL of every
         * statement and the schema script. {@link SqlDatabase#fromJdbcUrl} derives it from a JDBC URL.
         *
         * @param database the database
         * @return this builder
         */
        public Builder database(SqlDatabase database) {
            this.database = Objects.requireNonNull(database, "database must not be null");
            return this;
        }

        /**
         * How many expired rows one purge statement deletes (default 1,000); each batch is one short transaction.
         *
         * @param purgeBatchSize the batch size; positive
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder purgeBatchSize(int purgeBatchSize) {
            if (purgeBatchSize < 1) {
                throw new IllegalArgumentException("purgeBatchSize must be positive, was " + purgeBatchSize);
            }
            this.purgeBatchSize = purgeBatchSize;
            return this;
        }

        /**
         * A resource the store owns and closes in {@link JdbiIdempotencyStore#close()}, such as the connection
         * pool the Jdbi was built on. Each call adds one; they are closed in the order they were added.
         *
         * @param resource what to close with the store
         * @return this builder
         */
        public Builder closing(AutoCloseable resource) {
            this.owned.add(Objects.requireNonNull(resource, "resource must not be null"));
            return this;
        }

        /**
         * A Jdbi of its own for lease renewals ({@code extend}, {@code extendAll}), on a small pool apart from the
         * one the application's calls use (two connections are plenty: renewals are one short statement per
         * round). Renewal then never waits behind callers: when every connection of the main pool is taken (by a
         * burst of calls, or by callers waiting for a stalled transaction), the leases of running work are still
         * renewed, and healthy work does not lose its lease and run twice.
         *
         * <p>Without it, renewals share the main Jdbi and its pool. That is fine while the pool has room, but a
         * saturated pool delays renewals by up to the pool's connection timeout, and a lease shorter than that
         * can then run out under work that is still running.
         *
         * @param renewalJdbi a Jdbi on the same database, in auto-commit mode
         * @return this builder
         */
        public Builder renewalJdbi(Jdbi renewalJdbi) {
            this.renewalJdbi = Objects.requireNonNull(renewalJdbi, "renewalJdbi must not be null");
            return this;
        }

        /**
         * The longest a statement of the store waits for a row lock that another transaction holds (default
         * {@value JdbiIdempotencyStore#DEFAULT_LOCK_TIMEOUT_MILLIS} ms; from 1 ms to an hour). Row locks in this
         * store last one short statement, or a transactional completion from its completion statement to its
         * commit; a wait that runs out means that transaction stalled. An acquire then answers that the key is in
         * progress (instead of holding its caller, and a pool connection, until the stalled transaction ends);
         * the other statements fail with {@link IdempotencyStoreException}, having changed nothing. It is
         * PostgreSQL's {@code lock_timeout}, set for the store's own statements only (with {@code set_config(...,
         * true)} inside each statement, so no extra round trip). On MariaDB it is {@code innodb_lock_wait_timeout},
         * set per statement ({@code SET STATEMENT ... FOR}), which counts whole seconds: the bound is rounded up to
         * the next second.
         *
         * @param lockTimeout the bound; positive, at most an hour
         * @return this builder
         * @throws IllegalArgumentException if it is out of range
         */
        public Builder lockTimeout(Duration lockTimeout) {
            Objects.requireNonNull(lockTimeout, "lockTimeout must not be null");
            if (lockTimeout.toMillis() < 1 || lockTimeout.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("lockTimeout must be from 1 ms to 1 hour, was " + lockTimeout);
            }
            this.lockTimeout = Duration.ofMillis(lockTimeout.toMillis());
            return this;
        }

        /**
         * Builds the store. It does not touch the database: see {@link JdbiIdempotencyStore#createSchema()}.
         *
         * @return the store
         */
        public JdbiIdempotencyStore build() {
            return new JdbiIdempotencyStore(this);
        }
    }
}
