package org.idempotency.jdbi;

import org.jdbi.v3.core.Handle;

/**
 * The application's own table, in the same database as the records: the rows that transactional work writes,
 * counted per idempotency key. It has no unique constraint on the key on purpose: exactly-once must come from
 * the fencing check, not from a constraint.
 */
final class BusinessTable implements AutoCloseable {

    final TestDatabase database;
    final String name;

    BusinessTable(String prefix) {
        this(PostgresDatabase.get(), prefix);
    }

    BusinessTable(TestDatabase database, String prefix) {
        this.database = database;
        this.name = TestDatabase.uniqueTableName(prefix);
        database.createBusinessTable(name);
    }

    /** The table's name, quoted for its database. */
    String quoted() {
        return database.quote(name);
    }

    /** Inserts one row for the key, on the given (transaction's) handle; returns its id. */
    long insert(Handle handle, String key, String node) {
        return handle.createQuery("INSERT INTO " + quoted() + " (idem_key, node) VALUES (:key, :node) RETURNING id")
                .bind("key", key)
                .bind("node", node)
                .mapTo(Long.class)
                .one();
    }

    /** How many committed rows the key has. */
    int rows(String key) {
        return database.admin().withHandle(h -> h.createQuery("SELECT count(*) FROM " + quoted()
                + " WHERE idem_key = :key").bind("key", key).mapTo(Integer.class).one());
    }

    /** The node that wrote the key's rows, if exactly one did. */
    String node(String key) {
        return database.admin().withHandle(h -> h.createQuery("SELECT node FROM " + quoted()
                + " WHERE idem_key = :key").bind("key", key).mapTo(String.class).one());
    }

    @Override
    public void close() {
        database.admin().useHandle(h -> h.execute("DROP TABLE IF EXISTS " + quoted()));
    }
}
