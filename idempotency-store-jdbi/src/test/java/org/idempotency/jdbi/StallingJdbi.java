package org.idempotency.jdbi;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.SqlLogger;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * A Jdbi whose transactional completions stall between the completion statement and the commit, as a process
 * that is stopped ({@code SIGSTOP}) or loses its network at that moment: the record's row stays locked by the open
 * transaction until {@link #resume()}. Only completions inside a transaction stall, and only while armed.
 */
final class StallingJdbi {

    final Jdbi jdbi;
    private final CountDownLatch stalled = new CountDownLatch(1);
    private final CountDownLatch resumed = new CountDownLatch(1);
    private volatile boolean armed = true;

    StallingJdbi(DataSource dataSource) {
        this.jdbi = Jdbi.create(dataSource);
        jdbi.setSqlLogger(new SqlLogger() {
            @Override
            public void logAfterExecution(StatementContext context) {
                if (armed && context.getRawSql().contains("SET status = 'COMPLETED'")
                        && context.getConnection() != null && inTransaction(context)) {
                    armed = false;
                    stalled.countDown();
                    try {
                        resumed.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        });
    }

    private static boolean inTransaction(StatementContext context) {
        try {
            return !context.getConnection().getAutoCommit();
        } catch (java.sql.SQLException e) {
            return false;
        }
    }

    /** Waits until a completion stalls (its row lock held, its commit not sent). */
    void awaitStall() throws InterruptedException {
        if (!stalled.await(30, TimeUnit.SECONDS)) {
            throw new AssertionError("no transactional completion stalled within 30 s");
        }
    }

    /** Lets the stalled completion go on to its commit. */
    void resume() {
        resumed.countDown();
    }
}
