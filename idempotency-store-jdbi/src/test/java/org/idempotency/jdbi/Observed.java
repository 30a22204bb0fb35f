package org.idempotency.jdbi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.spi.JdbiPlugin;
import org.jdbi.v3.core.statement.SqlLogger;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * A Jdbi on a test table's pool that records every statement it executes and counts the handles it opens,
 * so tests can check how many statements (round trips) an operation costs. Also the polling helper of the
 * tests: wait for a condition with a deadline, never a bare sleep as the assertion.
 */
final class Observed {

    final Jdbi jdbi;
    final List<String> statements = new CopyOnWriteArrayList<>();
    final AtomicInteger handles = new AtomicInteger();

    Observed(TestTable table) {
        this.jdbi = org.jdbi.v3.core.Jdbi.create(table.pool);
        jdbi.setSqlLogger(new SqlLogger() {
            @Override
            public void logAfterExecution(StatementContext context) {
                statements.add(context.getRawSql());
            }

            @Override
            public void logException(StatementContext context, java.sql.SQLException ex) {
                statements.add(context.getRawSql());
            }
        });
        jdbi.installPlugin(new JdbiPlugin() {
            @Override
            public Handle customizeHandle(Handle handle) {
                handles.incrementAndGet();
                return handle;
            }
        });
    }

    /** Forgets what was recorded so far. */
    void reset() {
        statements.clear();
        handles.set(0);
    }

    /** How many recorded statements contain the fragment. */
    long count(String fragment) {
        return statements.stream().filter(sql -> sql.contains(fragment)).count();
    }

    /** Polls until the condition holds; fails after 20 s. */
    static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after 20 s waiting until " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }
}
