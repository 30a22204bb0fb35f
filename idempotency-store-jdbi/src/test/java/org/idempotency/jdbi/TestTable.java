package org.idempotency.jdbi;

import com.zaxxer.hikari.HikariDataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * A table of its own for one test class, on a pool of its own: created (through the store's own
 * {@code createSchema()}) when the class starts, dropped when it ends.
 */
final class TestTable implements AutoCloseable {

    final PostgresDatabase database;
    final String name;
    final String applicationName;
    final HikariDataSource pool;
    final Jdbi jdbi;

    private TestTable(String prefix, int poolSize) {
        this.database = PostgresDatabase.get();
        this.name = PostgresDatabase.uniqueTableName(prefix);
        this.applicationName = PostgresDatabase.uniqueApplicationName(prefix);
        this.pool = database.pool(applicationName, poolSize);
        this.jdbi = Jdbi.create(pool);
    }

    /** Creates the table with {@link JdbiIdempotencyStore#createSchema()}. */
    static TestTable create(String prefix, int poolSize) {
        TestTable table = new TestTable(prefix, poolSize);
        try {
            table.store().createSchema();
        } catch (RuntimeException e) {
            table.close();
            throw e;
        }
        return table;
    }

    /** A store on this table. */
    JdbiIdempotencyStore store() {
        return builder().build();
    }

    /** A store builder on this table. */
    JdbiIdempotencyStore.Builder builder() {
        return JdbiIdempotencyStore.builder(jdbi).table(name);
    }

    /** How many rows the table holds, expired ones included. */
    long rowCount() {
        return database.admin().withHandle(h -> h.createQuery("SELECT count(*) FROM \"" + name + "\"")
                .mapTo(Long.class).one());
    }

    @Override
    public void close() {
        try {
            database.dropTable(name);
        } finally {
            pool.close();
        }
    }
}
