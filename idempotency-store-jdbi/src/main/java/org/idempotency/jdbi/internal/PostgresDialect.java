package org.idempotency.jdbi.internal;

import java.sql.SQLException;

/**
 * The PostgreSQL dialect (11 or newer).
 *
 * <h2>Time</h2>
 * Every statement reads the database clock through {@code statement_timestamp()}: one instant for the whole
 * statement, taken when the statement arrives. {@code now()} would be wrong inside a transaction: it is frozen
 * when the transaction begins, so the completion written at the end of a long transactional completion would
 * judge the lease, and start the retention, from a stale instant. {@code clock_timestamp()} moves while the
 * statement runs, so two conditions of one statement (the visibility check and the takeover check of an
 * acquire, or the rows of a batch) could see different times. In an auto-commit statement all three agree.
 *
 * <h2>Acquire</h2>
 * One statement, one round trip. Its data-modifying CTE proposes a row only if no row <em>holds</em> the key
 * (visible, and not an expired lease with a matching request hash): {@code INSERT ... SELECT ... WHERE NOT
 * EXISTS (<a holding row>) ON CONFLICT (key) DO UPDATE ... WHERE <expired or takeover-able>}. The conflict
 * check and that {@code WHERE} run against the latest committed row under its row lock, so of concurrent
 * contenders exactly one inserts or takes over. The main query returns the claimed token, or else the holding
 * row. A replay or a live lease therefore costs primary-key lookups: nothing is inserted, no row is locked, no
 * token is drawn, no transaction id is assigned.
 *
 * <h2>Fencing tokens</h2>
 * Tokens come from a sequence of the table, so none is issued twice. A takeover, and the replacement of an
 * expired row, draw theirs in the {@code DO UPDATE}, while holding the row lock, so they follow every token
 * the row had. Release does not delete the row but expires it, for the same reason: the next acquire replaces
 * it under the lock. Only an insert into an empty slot draws its token before taking the slot; the slot is
 * empty only once purging removed the key's last row, which happens a retention or a takeover window after
 * that row's token was drawn.
 *
 * <p>READ COMMITTED gives each statement one snapshot, taken when it starts, but {@code ON CONFLICT} sees
 * rows committed after it. When another transaction inserts the key (or takes it over) between the two, the
 * reads saw no holding row and the upsert found a live one: the statement returns no row, and the store runs
 * it again with a fresh snapshot, which sees the row. Each rerun needs yet another concurrent change of the
 * key, so the store bounds the reruns.
 */
public final class PostgresDialect implements SqlDialect {

    /** The resource holding the schema script, for the default table name. */
    public static final String SCHEMA_RESOURCE = "META-INF/idempotency/jdbi/postgresql.sql";
    /** The table name the schema script is written for. */
    public static final String SCRIPT_TABLE = DialectText.SCRIPT_TABLE;

    private static final String SEQUENCE_SUFFIX = DialectText.SEQUENCE_SUFFIX;
    private static final String INDEX_SUFFIX = DialectText.INDEX_SUFFIX;
    private static final String SCRIPT = DialectText.loadScript(SCHEMA_RESOURCE);

    private static final String NOW = "statement_timestamp()";
    private static final String LEASE_END = NOW + " + CAST(:lease_us AS bigint) * INTERVAL '1 microsecond'";
    private static final String VISIBLE_UNTIL = NOW + " + 2 * CAST(:lease_us AS bigint) * INTERVAL '1 microsecond'";

    /** The upsert tail shared by acquire and acquireAll: replace an expired row, or take over an expired lease. */
    private static final String CLAIM = """
                ON CONFLICT (idempotency_key) DO UPDATE SET
                    request_hash = CASE WHEN r.expires_at <= statement_timestamp() THEN excluded.request_hash
                                        ELSE r.request_hash END,
                    attempt = CASE WHEN r.expires_at <= statement_timestamp() THEN 1 ELSE r.attempt + 1 END,
                    created_at = CASE WHEN r.expires_at <= statement_timestamp() THEN statement_timestamp()
                                      ELSE r.created_at END,
                    status = 'IN_PROGRESS',
                    fencing_token = nextval('{sequence}'),
                    lease_expires_at = excluded.lease_expires_at,
                    expires_at = excluded.expires_at,
                    status_code = NULL,
                    response = NULL,
                    error_type = NULL,
                    error_message = NULL
                WHERE r.expires_at <= statement_timestamp()
                   OR (r.status = 'IN_PROGRESS'
                       AND r.lease_expires_at <= statement_timestamp()
                       AND (r.request_hash IS NULL OR excluded.request_hash IS NULL
                            OR r.request_hash = excluded.request_hash))
            """;

    /** Whether the row {@code c} holds the key against request hash {@code hash}: visible, and not taken over. */
    private static final String HOLDS = """
            c.expires_at > statement_timestamp()
                      AND NOT (c.status = 'IN_PROGRESS'
                               AND c.lease_expires_at <= statement_timestamp()
                               AND (c.request_hash IS NULL OR {hash} IS NULL OR c.request_hash = {hash}))""";

    /*
     * Both reads of the table see the statement's snapshot, so they agree; the second one only runs when
     * nothing was claimed. No row comes back when a concurrent change hid the key from both.
     */
    private static final String ACQUIRE = """
            WITH claimed AS (
                INSERT INTO {table} AS r (idempotency_key, request_hash, status, fencing_token, attempt,
                                          created_at, lease_expires_at, expires_at)
                SELECT CAST(:key AS text), CAST(:request_hash AS text), 'IN_PROGRESS', nextval('{sequence}'), 1,
                       statement_timestamp(), {lease_end}, {visible_until}
                WHERE CASE WHEN NOT EXISTS (SELECT 1 FROM {table} AS c
                                            WHERE c.idempotency_key = CAST(:key AS text)
                                              AND {holds})
                           THEN {lock_bound} ELSE false END
            {claim}
                RETURNING fencing_token, attempt
            )
            SELECT fencing_token AS acquired_token, attempt AS acquired_attempt,
                   CAST(NULL AS text) AS request_hash, CAST(NULL AS varchar) AS status,
                   CAST(NULL AS bigint) AS fencing_token, CAST(NULL AS timestamptz) AS lease_expires_at,
                   CAST(NULL AS timestamptz) AS expires_at, CAST(NULL AS integer) AS status_code,
                   CAST(NULL AS bytea) AS response, CAST(NULL AS varchar) AS error_type,
                   CAST(NULL AS varchar) AS error_message
            FROM claimed
            UNION ALL
            SELECT NULL, NULL, c.request_hash, c.status, c.fencing_token, c.lease_expires_at, c.expires_at,
                   c.status_code, c.response, c.error_type, c.error_message
            FROM {table} AS c
            WHERE c.idempotency_key = CAST(:key AS text)
              AND {holds}
              AND NOT EXISTS (SELECT 1 FROM claimed)
            """.replace("{holds}", HOLDS.replace("{hash}", "CAST(:request_hash AS text)"));

    /*
     * Rows are proposed in key order, so two batches that overlap take their locks in the same order and
     * cannot deadlock each other.
     */
    private static final String ACQUIRE_ALL = """
            WITH request AS (
                SELECT k.idempotency_key, k.request_hash, k.ord
                FROM unnest(CAST(:keys AS text[]), CAST(:request_hashes AS text[]))
                     WITH ORDINALITY AS k (idempotency_key, request_hash, ord)
            ),
            current_row AS (
                SELECT q.ord, c.request_hash, c.status, c.fencing_token, c.lease_expires_at, c.expires_at,
                       c.status_code, c.response, c.error_type, c.error_message,
                       {holds} AS holds
                FROM request AS q
                JOIN {table} AS c ON c.idempotency_key = q.idempotency_key
            ),
            claimed AS (
                INSERT INTO {table} AS r (idempotency_key, request_hash, status, fencing_token, attempt,
                                          created_at, lease_expires_at, expires_at)
                SELECT q.idempotency_key, q.request_hash, 'IN_PROGRESS', nextval('{sequence}'), 1,
                       statement_timestamp(), {lease_end}, {visible_until}
                FROM request AS q
                WHERE CASE WHEN NOT EXISTS (SELECT 1 FROM current_row AS c WHERE c.ord = q.ord AND c.holds)
                           THEN {lock_bound} ELSE false END
                ORDER BY q.idempotency_key COLLATE "C"
            {claim}
                RETURNING idempotency_key, fencing_token, attempt
            )
            SELECT q.ord, claimed.fencing_token AS acquired_token, claimed.attempt AS acquired_attempt,
                   held.request_hash, held.status, held.fencing_token, held.lease_expires_at, held.expires_at,
                   held.status_code, held.response, held.error_type, held.error_message
            FROM request AS q
            LEFT JOIN claimed ON claimed.idempotency_key = q.idempotency_key
            LEFT JOIN current_row AS held ON held.ord = q.ord AND held.holds AND claimed.idempotency_key IS NULL
            ORDER BY q.ord
            """.replace("{holds}", HOLDS.replace("{hash}", "q.request_hash"));

    /**
     * The condition every finishing statement shares: the row is visible, in progress and holds the token; and
     * the statement's wait for the row's lock is bounded.
     */
    private static final String OWNED = """
            WHERE idempotency_key = CAST(:key AS text)
              AND fencing_token = CAST(:token AS bigint)
              AND status = 'IN_PROGRESS'
              AND expires_at > statement_timestamp()
              AND {lock_bound}
            """;

    private static final String COMPLETE = """
            UPDATE {table}
            SET status = 'COMPLETED',
                lease_expires_at = NULL,
                expires_at = statement_timestamp() + CAST(:retention_us AS bigint) * INTERVAL '1 microsecond',
                status_code = CAST(:status_code AS integer),
                response = CAST(:response AS bytea)
            """ + OWNED;

    private static final String FAIL = """
            UPDATE {table}
            SET status = 'FAILED',
                lease_expires_at = NULL,
                expires_at = statement_timestamp() + CAST(:retention_us AS bigint) * INTERVAL '1 microsecond',
                error_type = CAST(:error_type AS text),
                error_message = CAST(:error_message AS text)
            """ + OWNED;

    /*
     * Release expires the row instead of deleting it: it is invisible at once, and the next acquire of the key
     * replaces it under its row lock, so the new token is drawn after the old one (see the class comment). It
     * expires the row at a fixed instant long past, not at its own statement's time: a renewal whose statement
     * began earlier and waited for the release's lock re-checks the row against its own, earlier, timestamp,
     * and would find a row that expired "now" still visible, and renew a released record.
     */
    private static final String RELEASE = """
            UPDATE {table}
            SET lease_expires_at = TIMESTAMPTZ 'epoch',
                expires_at = TIMESTAMPTZ 'epoch'
            """ + OWNED;

    private static final String EXTEND = """
            UPDATE {table}
            SET lease_expires_at = {lease_end},
                expires_at = {visible_until}
            """ + OWNED;

    /*
     * Renews many leases in one statement without waiting for any lock: the owned rows are locked in key order,
     * skipping those another transaction holds (such as an owner's own transactional completion waiting for its
     * commit), and renewed. For each key it answers whether its lease was renewed, and whether its row was owned
     * in the statement's snapshot: a row that was owned but not renewed was locked (or changed meanwhile), and the
     * store asks about it again with the single-key statement.
     */
    private static final String EXTEND_ALL = """
            WITH request AS (
                SELECT k.idempotency_key, k.fencing_token, k.ord
                FROM unnest(CAST(:keys AS text[]), CAST(:tokens AS bigint[]))
                     WITH ORDINALITY AS k (idempotency_key, fencing_token, ord)
            ),
            owned AS (
                SELECT r.idempotency_key
                FROM {table} AS r
                JOIN request AS q ON q.idempotency_key = r.idempotency_key AND q.fencing_token = r.fencing_token
                WHERE r.status = 'IN_PROGRESS'
                  AND r.expires_at > statement_timestamp()
                ORDER BY r.idempotency_key
                FOR UPDATE OF r SKIP LOCKED
            ),
            renewed AS (
                UPDATE {table} AS r
                SET lease_expires_at = {lease_end},
                    expires_at = {visible_until}
                FROM owned
                WHERE r.idempotency_key = owned.idempotency_key
                RETURNING r.idempotency_key
            )
            SELECT q.ord,
                   renewed.idempotency_key IS NOT NULL AS renewed,
                   EXISTS (SELECT 1 FROM {table} AS c
                           WHERE c.idempotency_key = q.idempotency_key
                             AND c.fencing_token = q.fencing_token
                             AND c.status = 'IN_PROGRESS'
                             AND c.expires_at > statement_timestamp()) AS was_owned
            FROM request AS q
            LEFT JOIN renewed ON renewed.idempotency_key = q.idempotency_key
            ORDER BY q.ord
            """;

    /*
     * Completes many records in one statement, like EXTEND_ALL: the owned rows are locked in key order, skipping
     * those another transaction holds, and completed, each with its own result; the fencing token is checked per
     * row. For each key it answers whether it was completed, and whether its row was owned in the statement's
     * snapshot (owned but not completed: locked or changed meanwhile; the store asks again with COMPLETE).
     */
    private static final String COMPLETE_ALL = """
            WITH request AS (
                SELECT k.idempotency_key, k.fencing_token, k.status_code, k.response, k.ord
                FROM unnest(CAST(:keys AS text[]), CAST(:tokens AS bigint[]), CAST(:status_codes AS integer[]),
                            CAST(:responses AS bytea[]))
                     WITH ORDINALITY AS k (idempotency_key, fencing_token, status_code, response, ord)
            ),
            owned AS (
                SELECT r.idempotency_key
                FROM {table} AS r
                JOIN request AS q ON q.idempotency_key = r.idempotency_key AND q.fencing_token = r.fencing_token
                WHERE r.status = 'IN_PROGRESS'
                  AND r.expires_at > statement_timestamp()
                ORDER BY r.idempotency_key
                FOR UPDATE OF r SKIP LOCKED
            ),
            completed AS (
                UPDATE {table} AS r
                SET status = 'COMPLETED',
                    lease_expires_at = NULL,
                    expires_at = statement_timestamp() + CAST(:retention_us AS bigint) * INTERVAL '1 microsecond',
                    status_code = q.status_code,
                    response = q.response
                FROM owned
                JOIN request AS q ON q.idempotency_key = owned.idempotency_key
                WHERE r.idempotency_key = owned.idempotency_key
                  AND r.fencing_token = q.fencing_token
                  AND r.status = 'IN_PROGRESS'
                  AND r.expires_at > statement_timestamp()
                RETURNING r.idempotency_key
            )
            SELECT q.ord,
                   completed.idempotency_key IS NOT NULL AS completed,
                   EXISTS (SELECT 1 FROM {table} AS c
                           WHERE c.idempotency_key = q.idempotency_key
                             AND c.fencing_token = q.fencing_token
                             AND c.status = 'IN_PROGRESS'
                             AND c.expires_at > statement_timestamp()) AS was_owned
            FROM request AS q
            LEFT JOIN completed ON completed.idempotency_key = q.idempotency_key
            ORDER BY q.ord
            """;

    /*
     * Forget expires the visible row holding the token, whatever its status, at the same fixed past instant as
     * RELEASE (and for the same reason); the next acquire replaces it under its row lock with a new token.
     */
    private static final String FORGET = """
            UPDATE {table}
            SET lease_expires_at = CASE WHEN status = 'IN_PROGRESS' THEN TIMESTAMPTZ 'epoch' ELSE lease_expires_at END,
                expires_at = TIMESTAMPTZ 'epoch'
            WHERE idempotency_key = CAST(:key AS text)
              AND fencing_token = CAST(:token AS bigint)
              AND expires_at > statement_timestamp()
              AND {lock_bound}
            """;

    /*
     * The row of a key whatever its visibility, without a lock: what an acquire answers when it could not lock
     * the row in time. The last columns say whether the row is visible, and the statement's time.
     */
    private static final String INSPECT = """
            SELECT request_hash, status, fencing_token, lease_expires_at, expires_at, status_code, response,
                   error_type, error_message, expires_at > statement_timestamp(), statement_timestamp()
            FROM {table}
            WHERE idempotency_key = CAST(:key AS text)
            """;

    private static final String FIND = """
            SELECT request_hash, status, fencing_token, lease_expires_at, expires_at, status_code, response,
                   error_type, error_message
            FROM {table}
            WHERE idempotency_key = CAST(:key AS text)
              AND expires_at > statement_timestamp()
            """;

    /* Each batch is its own short transaction; rows locked by a concurrent acquire are skipped, not waited for. */
    private static final String PURGE_BATCH = """
            DELETE FROM {table}
            WHERE idempotency_key IN (SELECT idempotency_key
                                      FROM {table}
                                      WHERE expires_at <= statement_timestamp()
                                      LIMIT CAST(:batch_size AS integer)
                                      FOR UPDATE SKIP LOCKED)
              AND expires_at <= statement_timestamp()
            """;

    private static final String SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext(CAST(:lock_name AS text)))";
    /** The lock bound of a statement: lock_timeout for the rest of its transaction (its own, in auto-commit). */
    private static final String LOCK_BOUND = "set_config('lock_timeout', '{lock_timeout_ms}ms', true) IS NOT NULL";

    public PostgresDialect() {
    }

    @Override
    public String name() {
        return "PostgreSQL";
    }

    @Override
    public Statements statements(TableName table, long lockTimeoutMillis) {
        if (lockTimeoutMillis < 1) {
            throw new IllegalArgumentException("lockTimeoutMillis must be positive, was " + lockTimeoutMillis);
        }
        String bound = LOCK_BOUND.replace("{lock_timeout_ms}", Long.toString(lockTimeoutMillis));
        return new Statements(render(ACQUIRE, table, bound), render(ACQUIRE_ALL, table, bound),
                render(COMPLETE, table, bound), render(FAIL, table, bound), render(RELEASE, table, bound),
                render(EXTEND, table, bound), render(EXTEND_ALL, table, bound), render(FIND, table, bound),
                render(INSPECT, table, bound), render(PURGE_BATCH, table, bound), SCHEMA_LOCK,
                schemaExists(table), "SET LOCAL lock_timeout = '" + lockTimeoutMillis + "ms'");
    }

    @Override
    public String completeAll(TableName table, long lockTimeoutMillis) {
        return render(COMPLETE_ALL, table, lockBound(lockTimeoutMillis));
    }

    @Override
    public String forget(TableName table, long lockTimeoutMillis) {
        return render(FORGET, table, lockBound(lockTimeoutMillis));
    }

    private static String lockBound(long lockTimeoutMillis) {
        if (lockTimeoutMillis < 1) {
            throw new IllegalArgumentException("lockTimeoutMillis must be positive, was " + lockTimeoutMillis);
        }
        return LOCK_BOUND.replace("{lock_timeout_ms}", Long.toString(lockTimeoutMillis));
    }

    /** Whether the table, its sequence and its index exist (the index in the table's schema). */
    private static String schemaExists(TableName table) {
        String schema = table.schema() == null ? "" : quote(table.schema()) + ".";
        return "SELECT to_regclass('" + schema + quote(table.table()) + "') IS NOT NULL"
                + " AND to_regclass('" + schema + quote(table.table() + SEQUENCE_SUFFIX) + "') IS NOT NULL"
                + " AND to_regclass('" + schema + quote(table.table() + INDEX_SUFFIX) + "') IS NOT NULL";
    }

    @Override
    public String schemaScript(TableName table) {
        return DialectText.renameScript(SCRIPT, table, '"');
    }

    @Override
    public boolean isRetryable(SQLException error) {
        String state = error.getSQLState();
        return "40001".equals(state) || "40P01".equals(state); // serialization_failure, deadlock_detected
    }

    @Override
    public boolean isLockTimeout(SQLException error) {
        return "55P03".equals(error.getSQLState()); // lock_not_available: lock_timeout ran out
    }

    /**
     * The first line of the message. The PostgreSQL driver puts the server's primary message there ({@code ERROR:
     * new row for relation "t" violates check constraint "c"}), and the detail, hint, position and context, which
     * quote rows and parameters ({@code Failing row contains (...)}), on the lines below; those are left out.
     * The primary messages the store's statements can meet name constraints, columns and types, not values (the
     * statements bind typed values, so no value is parsed from text).
     */
    @Override
    public String describe(SQLException error) {
        String message = error.getMessage();
        if (message == null || message.isBlank()) {
            return "(no message)";
        }
        String first = DialectText.cut(DialectText.firstLine(message));
        return message.indexOf('\n') < 0 ? first : first + " (details left out)";
    }

    private static String render(String template, TableName table, String lockBound) {
        return template
                .replace("{claim}", CLAIM)
                .replace("{lock_bound}", lockBound)
                .replace("{lease_end}", LEASE_END)
                .replace("{visible_until}", VISIBLE_UNTIL)
                .replace("{table}", qualified(table, table.table()))
                .replace("{sequence}", qualified(table, table.table() + SEQUENCE_SUFFIX));
    }

    private static String qualified(TableName table, String name) {
        return DialectText.qualified(table, name, '"');
    }

    private static String quote(String identifier) {
        return DialectText.quote(identifier, '"');
    }
}
