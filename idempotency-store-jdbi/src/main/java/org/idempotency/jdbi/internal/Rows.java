package org.idempotency.jdbi.internal;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.jspecify.annotations.Nullable;

/**
 * Reads the rows of the {@link SqlDialect} statements by column position (the statements fix the order), which
 * is the cheapest way through JDBC. Stateless and thread-safe.
 */
public final class Rows {

    /** How many columns {@link #record} reads. */
    public static final int RECORD_COLUMN_COUNT = 9;

    private Rows() {
    }

    /**
     * Reads the outcome of an acquire: the acquired token and attempt at {@code first} and {@code first + 1},
     * then the record columns.
     *
     * @return the outcome, or {@code null} when the statement saw neither (all columns null)
     */
    public static @Nullable AcquireResult acquireOutcome(String key, ResultSet rs, int first, SqlDialect dialect)
            throws SQLException {
        long token = rs.getLong(first);
        if (!rs.wasNull()) {
            int attempt = rs.getInt(first + 1);
            return new AcquireResult.Acquired(token, attempt > 1);
        }
        if (rs.getString(first + 3) == null) { // status: no holding record either
            return null;
        }
        return new AcquireResult.Existing(record(key, rs, first + 2, dialect));
    }

    /**
     * Reads the record columns (request_hash, status, ... error_message) starting at column {@code first}.
     *
     * @throws SQLException if the row does not hold a valid record; the message names the broken rule, never the
     *     row's content
     */
    public static IdempotencyRecord record(String key, ResultSet rs, int first, SqlDialect dialect)
            throws SQLException {
        try {
            return readRecord(key, rs, first, dialect);
        } catch (IllegalArgumentException | NullPointerException e) {
            // the value types' messages may quote the content (an error type, a status); they are left out
            throw new SQLException("The row of key '" + IdempotencyException.safeKey(key) + "' does not hold a valid"
                    + " idempotency record (" + e.getClass().getSimpleName() + "); is another application writing"
                    + " to this table?");
        }
    }

    private static IdempotencyRecord readRecord(String key, ResultSet rs, int first, SqlDialect dialect)
            throws SQLException {
        String requestHash = StoredText.decode(rs.getString(first));
        RecordStatus status = RecordStatus.valueOf(rs.getString(first + 1));
        long token = rs.getLong(first + 2);
        Instant leaseExpiresAt = dialect.instant(rs, first + 3);
        Instant expiresAt = dialect.instant(rs, first + 4);
        if (expiresAt == null) {
            throw new SQLException("expires_at of key '" + IdempotencyException.safeKey(key) + "' is null");
        }
        switch (status) {
            case COMPLETED: {
                int statusCode = rs.getInt(first + 5);
                byte[] response = rs.getBytes(first + 6);
                return IdempotencyRecord.completed(key, requestHash, token, new StoredResult(response, statusCode),
                        expiresAt);
            }
            case FAILED: {
                StoredFailure failure = new StoredFailure(StoredText.decode(rs.getString(first + 7)),
                        StoredText.decode(rs.getString(first + 8)));
                return IdempotencyRecord.failed(key, requestHash, token, failure, expiresAt);
            }
            default:
                if (leaseExpiresAt == null) {
                    throw new SQLException("lease_expires_at of in-progress key '" + IdempotencyException.safeKey(key)
                            + "' is null");
                }
                return IdempotencyRecord.inProgress(key, requestHash, token, leaseExpiresAt, expiresAt);
        }
    }
}
