package org.idempotency.spring;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.Statement;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.SqlDatabase;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The execution contract through {@code @Idempotent}, over the SQL store on a real MariaDB. */
class MariaDbAnnotationContractTest extends AnnotationExecutionContract {

    private static final String TABLE = TestServices.unique("contract");
    private static HikariDataSource pool;
    private static JdbiIdempotencyStore store;

    @BeforeAll
    static void createTable() {
        pool = TestServices.mariaDbPool("annotation-contract-" + TABLE, 24);
        store = JdbiIdempotencyStore.builder(Jdbi.create(pool)).database(SqlDatabase.MARIADB).table(TABLE).build();
        store.createSchema();
    }

    @AfterAll
    static void dropTable() throws Exception {
        try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("DROP TABLE IF EXISTS " + TABLE);
            statement.execute("DROP SEQUENCE IF EXISTS " + TABLE + "_fencing_seq");
        } finally {
            pool.close();
        }
    }

    @Override
    protected IdempotencyStore createStore() {
        return store;
    }

    @Override
    protected void closeStore(IdempotencyStore closed) {
        // the store and its pool live as long as the class
    }

    /** The engine's own contract run over this store covers more keys; through the proxy, 1,000 suffice. */
    @Override
    protected int manyKeysCount() {
        return 1_000;
    }
}
