package org.idempotency.jdbi.internal;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.jspecify.annotations.Nullable;

/**
 * Where all SQL text of the store lives, so that another database can be added by writing one more dialect,
 * without touching the store logic ({@code JdbiIdempotencyStore} binds the parameters and reads the columns
 * named below, and nothing else).
 *
 * <h2>The contract of the statements</h2>
 * Parameters are named ({@code :name}); durations are whole microseconds. Every statement is one atomic
 * statement that decides with the database clock, and the acquiring ones also issue the fencing tokens.
 * <ul>
 *   <li>{@code acquire(:key, :request_hash, :lease_us)} returns one row: {@code acquired_token} and
 *       {@code acquired_attempt} when the key was claimed (attempt 1 for a new record, more for a takeover),
 *       otherwise {@code NULL} there and the {@linkplain #RECORD_COLUMNS record columns} of the visible record
 *       that holds the key; or no row when a concurrent change made the statement see neither, in which case
 *       the store runs it again.</li>
 *   <li>{@code acquireAll(:keys, :request_hashes, :lease_us)} takes two text arrays of equal length and
 *       returns one row per element, in order: {@code ord} (1-based), then the columns of {@code acquire}, all
 *       {@code NULL} for a key that a concurrent change hid. A dialect without such a statement leaves it
 *       {@code null}, and the store runs {@code acquire} for each key.</li>
 *   <li>{@code complete(:key, :token, :retention_us, :status_code, :response)},
 *       {@code fail(:key, :token, :retention_us, :error_type, :error_message)}, {@code release(:key, :token)}
 *       and {@code extend(:key, :token, :lease_us)} change at most one row, only if it is visible, in
 *       progress and holds the token; the update count says whether it did.</li>
 *   <li>{@code extendAll(:keys, :tokens, :lease_us)} takes a text and a bigint array of equal length and returns
 *       one row per element, in order: {@code ord}, whether its lease was renewed, and whether its row was owned
 *       (visible, in progress, holding the token) when the statement began. It waits for no lock: a row owned but
 *       locked by another transaction is neither renewed nor answered, and the store asks about it with
 *       {@code extend}. A dialect without such a statement leaves it {@code null}, and the store runs
 *       {@code extend} for each key.</li>
 *   <li>{@code find(:key)} returns the record columns of the visible record, or no row.</li>
 *   <li>{@code inspect(:key)} returns the record columns of the key's row, visible or not, then whether it is
 *       visible and the statement's time; or no row. It takes no lock.</li>
 *   <li>{@code purgeBatch(:batch_size)} deletes at most that many expired rows without waiting for locked
 *       ones, and returns the update count.</li>
 *   <li>{@code schemaLock(:lock_name)} serialises schema creation for one table within a transaction;
 *       {@code schemaExists} answers whether the table, its sequence and its index all exist; and
 *       {@code schemaLockBound} bounds the lock waits of the rest of a transaction (for the schema script).
 *       A database whose DDL commits on its own, statement by statement, has neither a lock nor a bound
 *       ({@code null}): its script is a series of idempotent statements.</li>
 * </ul>
 * <b>Lock waits are bounded.</b> No statement waits longer than the lock timeout it was rendered with for a row
 * lock that another transaction holds (such as a transactional completion that stalls before its commit): it
 * fails instead ({@link #isLockTimeout}). Acquiring statements bound only their claiming path, so a replay pays
 * nothing for it.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface SqlDialect {

    /**
     * The columns of a record, in this order, after the acquire columns: request_hash, status, fencing_token,
     * lease_expires_at, expires_at, status_code, response, error_type, error_message.
     */
    String RECORD_COLUMNS = "request_hash, status, fencing_token, lease_expires_at, expires_at, status_code,"
            + " response, error_type, error_message";

    /** The dialect's name, for messages. */
    String name();

    /**
     * The statements for one table.
     *
     * @param table the table
     * @param lockTimeoutMillis the longest a statement waits for a row lock, in milliseconds; positive
     */
    Statements statements(TableName table, long lockTimeoutMillis);

    /** The schema script (table, sequence, index) rendered for one table, ready to execute. */
    String schemaScript(TableName table);

    /**
     * Reads a timestamp column of the statements' rows.
     *
     * @param rs the row
     * @param column the column's position
     * @return the instant, or {@code null} for SQL {@code NULL}
     */
    default @Nullable Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    /**
     * Whether a failed single-statement transaction changed nothing and may simply be run again: a
     * serialization failure or a deadlock, for example. Connection failures are not transient in this sense:
     * whether the statement took effect is unknown.
     */
    boolean isRetryable(SQLException error);

    /** Whether a statement failed because it could not lock a row within its lock timeout (it changed nothing). */
    boolean isLockTimeout(SQLException error);

    /**
     * The part of a driver's error message that names the error without quoting data (rows, parameters), for
     * the store's exceptions and logs; see {@link Faults}.
     */
    String describe(SQLException error);

    /**
     * The statement completing many owned records at once, or {@code null} if the dialect has none (the default):
     * the store then completes each record with {@code complete}. {@code completeAll(:keys, :tokens,
     * :status_codes, :responses, :retention_us)} takes a text, a bigint, an integer and a bytea array of equal
     * length and returns one row per element, in order: {@code ord}, whether its record was completed, and whether
     * its row was owned (visible, in progress, holding the token) when the statement began. It waits for no lock:
     * a row owned but locked by another transaction is neither completed nor answered, and the store asks about
     * it with {@code complete}.
     *
     * @param table the table
     * @param lockTimeoutMillis the longest a statement waits for a row lock, in milliseconds; positive
     * @return the statement, or {@code null} to complete record by record
     */
    default @Nullable String completeAll(TableName table, long lockTimeoutMillis) {
        return null;
    }

    /**
     * The statement forgetting a record, or {@code null} if the dialect has none (the default: the store then
     * refuses to forget). {@code forget(:key, :token)} makes the visible row of the key that holds the token
     * invisible, whatever its status, without resetting the key's tokens (the next acquire replaces the row under
     * its lock with a new token); the update count says whether it did. Its lock wait is bounded like the other
     * statements'.
     *
     * @param table the table
     * @param lockTimeoutMillis the longest a statement waits for a row lock, in milliseconds; positive
     * @return the statement, or {@code null} if records cannot be forgotten
     */
    default @Nullable String forget(TableName table, long lockTimeoutMillis) {
        return null;
    }

    /**
     * The SQL of each store operation for one table.
     *
     * @param acquire claims one key, or returns the record that holds it
     * @param acquireAll claims many keys; {@code null} when the dialect has no such statement
     * @param complete completes an owned record
     * @param fail records a permanent failure on an owned record
     * @param release deletes an owned record
     * @param extend renews the lease of an owned record
     * @param extendAll renews the leases of many owned records without waiting for locks; {@code null} when the
     *     dialect has no such statement
     * @param find reads a visible record
     * @param inspect reads a key's row, visible or not, without a lock
     * @param purgeBatch deletes one batch of expired records
     * @param schemaLock serialises schema creation; {@code null} when DDL cannot run in a transaction
     * @param schemaExists whether the table, its sequence and its index exist
     * @param schemaLockBound bounds the lock waits of the rest of the schema transaction; {@code null} as
     *     {@code schemaLock}
     */
    record Statements(String acquire, @Nullable String acquireAll, String complete, String fail, String release,
            String extend, @Nullable String extendAll, String find, String inspect, String purgeBatch,
            @Nullable String schemaLock, String schemaExists, @Nullable String schemaLockBound) {
    }
}
