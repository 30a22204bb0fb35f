package org.idempotency.jdbi;

import com.zaxxer.hikari.HikariDataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * A table of its own for one test class, on a pool of its own: created (through the store's own
 * {@code createSchema()}) when the class starts, dropped when it ends.
 */
final class TestTable implements AutoCloseable {

    final TestDatabase database;
    final String name;
    final String applicationName;
    final HikariDataSource pool;
    final Jdbi jdbi;

    private TestTable(TestDatabase database, String prefix, int poolSize) {
        this.database = database;
        this.name = TestDatabase.uniqueTableName(prefix);
        this.applicationName = TestDatabase.uniqueApplicationName(prefix);
        this.pool = database.pool(applicationName, poolSize);
        this.jdbi = Jdbi.create(pool);
    }

    /** Creates the table in PostgreSQL with {@link JdbiIdempotencyStore#createSchema()}. */
    static TestTable create(String prefix, int poolSize) {
        return create(PostgresDatabase.get(), prefix, poolSize);
    }

    /** Creates the table in the given database with {@link JdbiIdempotencyStore#createSchema()}. */
    static TestTable create(TestDatabase database, String prefix, int poolSize) {
        TestTable table = new TestTable(database, prefix, poolSize);
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
        return JdbiIdempotencyStore.builder(jdbi).database(database.kind()).table(name);
    }

    /** How many rows the table holds, expired ones included. */
    long rowCount() {
        return database.admin().withHandle(h -> h.createQuery("SELECT count(*) FROM " + database.quote(name))
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
