package org.idempotency.jdbi;

import java.util.List;
import org.jdbi.v3.core.Handle;

/**
 * A transaction on an admin connection that holds locks (an uncommitted insert, a row lock) so that a store
 * statement running meanwhile must wait for it: this makes interleavings deterministic. It finds the backend
 * that waits for it among the backends of one application name only, so a test touches nothing but its own
 * connections.
 */
final class Blocker implements AutoCloseable {

    private final PostgresDatabase database;
    final Handle handle;
    final int pid;

    Blocker(TestDatabase database) {
        if (!(database instanceof PostgresDatabase postgres)) {
            throw new IllegalArgumentException("Blocker finds waiting backends in pg_stat_activity: PostgreSQL only");
        }
        this.database = postgres;
        this.handle = database.admin().open();
        handle.begin();
        this.pid = handle.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
    }

    /** Waits until a backend of {@code applicationName} is blocked by this transaction, and returns its pid. */
    int awaitWaiter(String applicationName) {
        int[] waiter = new int[1];
        Observed.eventually("a backend of " + applicationName + " waits for the blocking transaction", () -> {
            List<Integer> pids = database.admin().withHandle(h -> h.createQuery(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :app"
                            + " AND CAST(:blocker AS integer) = ANY (pg_blocking_pids(pid))")
                    .bind("app", applicationName)
                    .bind("blocker", pid)
                    .mapTo(Integer.class)
                    .list());
            if (pids.isEmpty()) {
                return false;
            }
            waiter[0] = pids.get(0);
            return true;
        });
        return waiter[0];
    }

    /** Terminates one backend of this test's own (by pid) and waits until it is gone. */
    static void terminate(TestDatabase database, long pid) {
        database.terminate(pid);
    }

    void commit() {
        handle.commit();
    }

    void rollback() {
        handle.rollback();
    }

    @Override
    public void close() {
        if (handle.isInTransaction()) {
            handle.rollback();
        }
        handle.close();
    }
}
