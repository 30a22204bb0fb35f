package org.idempotency.jdbi.internal;

import java.sql.SQLException;
import java.util.IdentityHashMap;
import java.util.Map;
import org.jdbi.v3.core.JdbiException;
import org.jspecify.annotations.Nullable;

/**
 * Database faults as the store may report and log them: without the data that the driver and Jdbi put into
 * their messages. PostgreSQL's error details quote the row that broke a constraint ({@code Failing row contains
 * (...)}, result bytes included) and bound parameters; Jdbi's statement exceptions quote the statement's
 * arguments. Neither may reach a log line or an exception message of the store, since records hold request and
 * response data.
 *
 * <p>{@link #withoutData} returns a copy of a fault's cause chain in which every {@link SQLException} keeps its
 * class name, SQL state, vendor code and stack trace, and the part of its message that the dialect knows to be
 * free of data (for PostgreSQL, the primary message: the constraint, the table, the kind of error); Jdbi's
 * exceptions, which only add the statement and its arguments, are left out; other exceptions (an I/O error, a
 * refused connection) are kept as they are unless something below them had to be cleaned. Stateless and
 * thread-safe.
 */
public final class Faults {

    private Faults() {
    }

    /** The fault, with every message that might quote data cut down to what names the error. */
    public static Throwable withoutData(Throwable fault, SqlDialect dialect) {
        return clean(fault, dialect, new IdentityHashMap<>());
    }

    /** The fault's description for a log line: {@code toString()} of the cleaned fault. */
    public static String describe(Throwable fault, SqlDialect dialect) {
        return withoutData(fault, dialect).toString();
    }

    private static Throwable clean(Throwable fault, SqlDialect dialect, Map<Throwable, Throwable> done) {
        Throwable known = done.get(fault);
        if (known != null) {
            return known;
        }
        Throwable cause = fault.getCause() == fault ? null : fault.getCause();
        Throwable cleaned;
        if (fault instanceof SQLException sql) {
            String state = sql.getSQLState() == null ? "" : " [SQL state " + sql.getSQLState() + "]";
            String type = fault.getClass() == SQLException.class ? "" : fault.getClass().getName() + ": ";
            SQLException copy = new SQLException(type + dialect.describe(sql) + state, sql.getSQLState(),
                    sql.getErrorCode());
            done.put(fault, copy);
            if (cause != null) {
                copy.initCause(clean(cause, dialect, done));
            }
            cleaned = copy;
        } else if (fault instanceof JdbiException) {
            if (cause != null) {
                cleaned = clean(cause, dialect, done);
                done.put(fault, cleaned);
                return cleaned;
            }
            cleaned = new CleanedFault(fault.getClass().getName()
                    + " (its message is left out: it may quote the statement's arguments)");
            done.put(fault, cleaned);
        } else if (needsCleaning(fault, new IdentityHashMap<>())) {
            cleaned = new CleanedFault(fault.getClass().getName());
            done.put(fault, cleaned);
            if (cause != null) {
                cleaned.initCause(clean(cause, dialect, done));
            }
        } else {
            return fault;
        }
        cleaned.setStackTrace(fault.getStackTrace());
        for (Throwable suppressed : fault.getSuppressed()) {
            cleaned.addSuppressed(clean(suppressed, dialect, done));
        }
        return cleaned;
    }

    /** Whether a driver's or Jdbi's exception is in the fault's cause chain or among its suppressed ones. */
    private static boolean needsCleaning(@Nullable Throwable fault, Map<Throwable, Boolean> seen) {
        if (fault == null || seen.put(fault, Boolean.TRUE) != null) {
            return false;
        }
        if (fault instanceof SQLException || fault instanceof JdbiException) {
            return true;
        }
        for (Throwable suppressed : fault.getSuppressed()) {
            if (needsCleaning(suppressed, seen)) {
                return true;
            }
        }
        return needsCleaning(fault.getCause(), seen);
    }

    /**
     * Stands in for an exception whose message could not be kept; its message names the original class, and its
     * stack trace is the original's.
     */
    static final class CleanedFault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CleanedFault(String message) {
            super(message);
        }
    }
}
