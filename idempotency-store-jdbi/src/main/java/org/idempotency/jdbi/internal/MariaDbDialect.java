package org.idempotency.jdbi.internal;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The MariaDB dialect (10.6 or newer, InnoDB).
 *
 * <h2>Time</h2>
 * Times are {@code DATETIME(6)} in UTC, written and compared with {@code UTC_TIMESTAMP(6)}, which is constant
 * within a statement (the instant the statement began, as PostgreSQL's {@code statement_timestamp()}) and does
 * not depend on the session time zone. {@code SYSDATE()} would move while the statement runs. {@code TIMESTAMP}
 * columns would follow the session time zone and end in 2038.
 *
 * <h2>Acquire</h2>
 * One statement, one round trip: {@code INSERT ... VALUES (...) ON DUPLICATE KEY UPDATE ... RETURNING}. The
 * insert claims an empty slot; on a duplicate key, InnoDB locks the row and the update re-reads its latest
 * committed version, claiming it only if it no longer holds the key (expired, or an expired lease with a
 * matching request hash): every assignment is conditional, so a row that holds the key is left unchanged.
 * {@code RETURNING} then answers with the row as it is after the statement: the claimed token and attempt, or
 * the holding record. Because everything is decided under the row lock, the statement always answers, and
 * concurrent contenders cannot both claim.
 *
 * <p>Whether the statement claimed the row is read from the sequence: the statement draws a token for the row it
 * proposes ({@code NEXTVAL} in {@code VALUES}, drawn for every execution), and a claim of an existing row draws
 * another under the lock. So the row holds the session's last drawn token ({@code LASTVAL}) exactly when this
 * statement wrote it; a row it left alone holds a token drawn by another statement. The assignments test that
 * too, since MariaDB evaluates them from left to right and the token is assigned first: the later ones see the
 * claim through the token even after the lease columns changed; a row that was not claimed keeps every value.
 * The claim conditions compare the row's hash with the bound parameter, not with {@code VALUES(request_hash)}:
 * for a {@code TEXT} column, MariaDB's {@code VALUES(column)} reads the value assigned to the column earlier in
 * the same update (even an unchanged one), so a later condition would compare the row's hash with itself.
 *
 * <p>What this costs compared with PostgreSQL: MariaDB has no data-modifying CTE, and its {@code RETURNING}
 * cannot tell an inserted row from an updated or an untouched one, nor can {@code ON DUPLICATE KEY UPDATE} have a
 * {@code WHERE}; so a replay or a live lease also goes through the upsert. It locks the existing row for the
 * statement (until the auto-commit statement ends), writes nothing (the values are unchanged), and spends a
 * sequence value from the cache. A pre-check in the same statement ({@code INSERT ... SELECT ... WHERE NOT
 * EXISTS}) would read the target table with shared next-key locks at REPEATABLE READ, MariaDB's default (InnoDB
 * locks the rows and gaps that {@code INSERT ... SELECT} reads), and concurrent acquires of new keys that fall into
 * one index gap could then wait for, or deadlock, each other.
 *
 * <h2>Fencing tokens</h2>
 * Tokens come from a {@code SEQUENCE} of the table: never issued twice, not rolled back, served from a cache
 * without row locks. A takeover, and the replacement of an expired row, draw theirs in the update, under the row
 * lock. Release expires the row instead of deleting it, at a fixed instant long past, so that a renewal whose
 * statement began before the release's commit cannot find it still visible.
 *
 * <h2>Lock waits</h2>
 * Every writing statement runs as {@code SET STATEMENT innodb_lock_wait_timeout = n FOR ...}: the bound applies
 * to that statement alone, inside a caller's transaction too, and a statement that times out is rolled back on its
 * own (error 1205), leaving the transaction open. {@code innodb_lock_wait_timeout} counts whole seconds: the
 * store's lock timeout is rounded up to the next second.
 *
 * <h2>Batches</h2>
 * {@code acquireAll} and {@code extendAll} have no statement of their own here: the store runs the single-key
 * statement for each key. The sequence test above holds per row only while the source rows are produced one by
 * one, which a sort or a materialised source would break.
 *
 * <h2>Purge</h2>
 * {@code DELETE r FROM (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED) AS batch STRAIGHT_JOIN table AS r}: each
 * batch is one short statement that skips rows locked by concurrent transactions. At REPEATABLE READ the
 * batch's range scan of the expiry index also locks the gaps it passes, until the statement ends: an insert
 * whose expiry falls into such a gap waits until that statement ends.
 *
 * <p>Immutable and thread-safe.
 */
public final class MariaDbDialect implements SqlDialect {

    /** The resource holding the schema script, for the default table name. */
    public static final String SCHEMA_RESOURCE = "META-INF/idempotency/jdbi/mariadb.sql";

    private static final String SEQUENCE_SUFFIX = DialectText.SEQUENCE_SUFFIX;
    private static final String INDEX_SUFFIX = DialectText.INDEX_SUFFIX;
    /** A quoted part of a server message: a value, or a name; both are left out. */
    private static final Pattern QUOTED = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern CONNECTION_PREFIX = Pattern.compile("^\\(conn=\\d+\\)\\s*");
    private static final String SCRIPT = DialectText.loadScript(SCHEMA_RESOURCE);

    private static final String NOW = "UTC_TIMESTAMP(6)";
    private static final String LEASE_END = NOW + " + INTERVAL :lease_us MICROSECOND";
    private static final String VISIBLE_UNTIL = NOW + " + INTERVAL (2 * :lease_us) MICROSECOND";
    /** Released rows expire at this instant: long past, and the same for every release. */
    private static final String RELEASED_AT = "TIMESTAMP'1970-01-01 00:00:01'";

    /** Whether the existing row can be claimed: it is invisible, or its lease ended and the hashes match. */
    private static final String CLAIMABLE = "(expires_at <= " + NOW
            + " OR (status = 'IN_PROGRESS' AND lease_expires_at <= " + NOW
            + " AND (request_hash IS NULL OR :request_hash IS NULL OR request_hash = :request_hash)))";
    /**
     * Whether this statement claims the row, in the assignments after the token's: the row holds the token this
     * statement drew last. The claim condition itself is kept as an alternative, for evaluation orders in which
     * the assignments see the row's old values.
     */
    private static final String CLAIMED = "(fencing_token = LASTVAL({sequence}) OR " + CLAIMABLE + ")";
    /** Whether the existing row had expired, in the assignments before {@code expires_at}'s. */
    private static final String REPLACED = "(" + CLAIMED + " AND expires_at <= " + NOW + ")";
    /**
     * Whether the existing row had expired, in the last assignment: the row was claimed and its creation time is
     * now the statement's (set above only when it is replaced; a row created by another statement at the very
     * same instant cannot be claimable yet). {@code expires_at <= NOW} holds here only where assignments see the
     * old values: a claimed row expires later, and a row left alone was not expired, or it would have been claimed.
     */
    private static final String WAS_REPLACED = "((fencing_token = LASTVAL({sequence}) AND created_at = " + NOW
            + ") OR expires_at <= " + NOW + ")";

    private static final String ACQUIRE = """
            {lock_bound}INSERT INTO {table} (idempotency_key, request_hash, status, fencing_token, attempt,
                                created_at, lease_expires_at, expires_at)
            VALUES (:key, :request_hash, 'IN_PROGRESS', NEXTVAL({sequence}), 1, UTC_TIMESTAMP(6),
                    {lease_end}, {visible_until})
            ON DUPLICATE KEY UPDATE
                fencing_token = IF({claimable}, NEXTVAL({sequence}), fencing_token),
                attempt = IF({claimed}, IF(expires_at <= UTC_TIMESTAMP(6), 1, attempt + 1), attempt),
                created_at = IF({replaced}, UTC_TIMESTAMP(6), created_at),
                status_code = IF({claimed}, NULL, status_code),
                response = IF({claimed}, NULL, response),
                error_type = IF({claimed}, NULL, error_type),
                error_message = IF({claimed}, NULL, error_message),
                status = IF({claimed}, 'IN_PROGRESS', status),
                lease_expires_at = IF({claimed}, VALUES(lease_expires_at), lease_expires_at),
                expires_at = IF({claimed}, VALUES(expires_at), expires_at),
                request_hash = IF({was_replaced}, :request_hash, request_hash)
            RETURNING IF(fencing_token = LASTVAL({sequence}), fencing_token, NULL) AS acquired_token,
                      IF(fencing_token = LASTVAL({sequence}), attempt, NULL) AS acquired_attempt,
                      request_hash, status, fencing_token, lease_expires_at, expires_at, status_code, response,
                      error_type, error_message
            """
            .replace("{was_replaced}", WAS_REPLACED)
            .replace("{claimed}", CLAIMED)
            .replace("{replaced}", REPLACED)
            .replace("{was_replaced}", WAS_REPLACED)
            .replace("{claimable}", CLAIMABLE);

    /** The condition every finishing statement shares: the row is visible, in progress and holds the token. */
    private static final String OWNED = """
            WHERE idempotency_key = :key
              AND fencing_token = :token
              AND status = 'IN_PROGRESS'
              AND expires_at > UTC_TIMESTAMP(6)
            """;

    private static final String COMPLETE = """
            {lock_bound}UPDATE {table}
            SET status = 'COMPLETED',
                lease_expires_at = NULL,
                expires_at = UTC_TIMESTAMP(6) + INTERVAL :retention_us MICROSECOND,
                status_code = :status_code,
                response = :response
            """ + OWNED;

    private static final String FAIL = """
            {lock_bound}UPDATE {table}
            SET status = 'FAILED',
                lease_expires_at = NULL,
                expires_at = UTC_TIMESTAMP(6) + INTERVAL :retention_us MICROSECOND,
                error_type = :error_type,
                error_message = :error_message
            """ + OWNED;

    /* Expires the row at a fixed instant long past: see the class comment. */
    private static final String RELEASE = """
            {lock_bound}UPDATE {table}
            SET lease_expires_at = {released_at},
                expires_at = {released_at}
            """ + OWNED;

    /* Makes the key's visible row invisible whatever its status; the key's sequence goes on, so tokens keep growing. */
    private static final String FORGET = """
            {lock_bound}UPDATE {table}
            SET lease_expires_at = CASE WHEN status = 'IN_PROGRESS' THEN {released_at} ELSE lease_expires_at END,
                expires_at = {released_at}
            WHERE idempotency_key = :key
              AND fencing_token = :token
              AND expires_at > UTC_TIMESTAMP(6)
            """;

    private static final String EXTEND = """
            {lock_bound}UPDATE {table}
            SET lease_expires_at = {lease_end},
                expires_at = {visible_until}
            """ + OWNED;

    /* A plain SELECT is a consistent read at any isolation level: it takes no lock. */
    private static final String INSPECT = """
            SELECT request_hash, status, fencing_token, lease_expires_at, expires_at, status_code, response,
                   error_type, error_message, expires_at > UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
            FROM {table}
            WHERE idempotency_key = :key
            """;

    private static final String FIND = """
            SELECT request_hash, status, fencing_token, lease_expires_at, expires_at, status_code, response,
                   error_type, error_message
            FROM {table}
            WHERE idempotency_key = :key
              AND expires_at > UTC_TIMESTAMP(6)
            """;

    /*
     * The derived table picks at most a batch of expired rows by the expiry index, locking them and skipping rows
     * that other transactions hold; the delete then reaches exactly those rows by primary key (STRAIGHT_JOIN fixes
     * that order: were the target table scanned first, the delete would lock, and wait for, every row it reads,
     * the skipped ones included). The lock bound is a safeguard: the statement waits for no row lock.
     */
    private static final String PURGE_BATCH = """
            {lock_bound}DELETE r
            FROM (SELECT idempotency_key
                  FROM {table}
                  WHERE expires_at <= UTC_TIMESTAMP(6)
                  ORDER BY expires_at
                  LIMIT :batch_size
                  FOR UPDATE SKIP LOCKED) AS batch
            STRAIGHT_JOIN {table} AS r ON r.idempotency_key = batch.idempotency_key
            WHERE r.expires_at <= UTC_TIMESTAMP(6)
            """;

    public MariaDbDialect() {
    }

    @Override
    public String name() {
        return "MariaDB";
    }

    @Override
    public Statements statements(TableName table, long lockTimeoutMillis) {
        String bound = lockBound(lockTimeoutMillis);
        return new Statements(render(ACQUIRE, table, bound), null, render(COMPLETE, table, bound),
                render(FAIL, table, bound), render(RELEASE, table, bound), render(EXTEND, table, bound), null,
                render(FIND, table, bound), render(INSPECT, table, bound), render(PURGE_BATCH, table, bound), null,
                schemaExists(table), null);
    }

    @Override
    public String forget(TableName table, long lockTimeoutMillis) {
        return render(FORGET, table, lockBound(lockTimeoutMillis));
    }

    /** The statement prefix bounding its lock waits: whole seconds, rounded up. */
    private static String lockBound(long lockTimeoutMillis) {
        if (lockTimeoutMillis < 1) {
            throw new IllegalArgumentException("lockTimeoutMillis must be positive, was " + lockTimeoutMillis);
        }
        long seconds = (lockTimeoutMillis + 999) / 1000;
        return "SET STATEMENT innodb_lock_wait_timeout = " + seconds + " FOR ";
    }

    /** Whether the table, its sequence and its index exist (in the table's database, else the current one). */
    private static String schemaExists(TableName table) {
        String schema = table.schema() == null ? "DATABASE()" : "'" + table.schema() + "'";
        return "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + schema
                + " AND TABLE_NAME = '" + table.table() + "' AND TABLE_TYPE = 'BASE TABLE') = 1"
                + " AND (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + schema
                + " AND TABLE_NAME = '" + table.table() + SEQUENCE_SUFFIX + "' AND TABLE_TYPE = 'SEQUENCE') = 1"
                + " AND (SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = " + schema
                + " AND TABLE_NAME = '" + table.table() + "' AND INDEX_NAME = '" + table.table() + INDEX_SUFFIX
                + "') > 0";
    }

    @Override
    public String schemaScript(TableName table) {
        return DialectText.renameScript(SCRIPT, table, '`');
    }

    /** A deadlock (1213, SQL state 40001), or a changed row under snapshot isolation (1020). */
    @Override
    public boolean isRetryable(SQLException error) {
        return error.getErrorCode() == 1213 || error.getErrorCode() == 1020 || "40001".equals(error.getSQLState());
    }

    /** Lock wait timeout exceeded (1205): {@code innodb_lock_wait_timeout} ran out, the statement was rolled back. */
    @Override
    public boolean isLockTimeout(SQLException error) {
        return error.getErrorCode() == 1205;
    }

    /**
     * The first line of the server's message, without the driver's connection prefix and with every quoted part
     * left out: MariaDB quotes values in its messages ({@code Duplicate entry '...' for key},
     * {@code Incorrect string value: '...'}), and quotes names the same way, so neither is kept.
     */
    @Override
    public String describe(SQLException error) {
        String message = error.getMessage();
        if (message == null || message.isBlank()) {
            return "(no message)";
        }
        String first = CONNECTION_PREFIX.matcher(DialectText.firstLine(message)).replaceFirst("");
        first = DialectText.cut(QUOTED.matcher(first).replaceAll("'…'"));
        return first + " [error " + error.getErrorCode() + "]";
    }

    /** {@code DATETIME(6)} columns hold UTC; they are read as local date-times, without any time zone shift. */
    @Override
    public @Nullable Instant instant(ResultSet rs, int column) throws SQLException {
        LocalDateTime value = rs.getObject(column, LocalDateTime.class);
        return value == null ? null : value.toInstant(ZoneOffset.UTC);
    }

    private static String render(String template, TableName table, String lockBound) {
        return template
                .replace("{lock_bound}", lockBound)
                .replace("{lease_end}", LEASE_END)
                .replace("{visible_until}", VISIBLE_UNTIL)
                .replace("{released_at}", RELEASED_AT)
                .replace("{table}", qualified(table, table.table()))
                .replace("{sequence}", qualified(table, table.table() + SEQUENCE_SUFFIX));
    }

    private static String qualified(TableName table, String name) {
        return DialectText.qualified(table, name, '`');
    }

    private static String quote(String identifier) {
        return DialectText.quote(identifier, '`');
    }
}
