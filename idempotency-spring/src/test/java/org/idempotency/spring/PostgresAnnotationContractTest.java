package org.idempotency.spring;

import com.zaxxer.hikari.HikariDataSource;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The execution contract through {@code @Idempotent}, over the SQL store on a real PostgreSQL. */
class PostgresAnnotationContractTest extends AnnotationExecutionContract {

    private static final String TABLE = TestServices.unique("contract");
    private static HikariDataSource pool;
    private static JdbiIdempotencyStore store;

    @BeforeAll
    static void createTable() {
        pool = TestServices.postgresPool("annotation-contract-" + TABLE, 24);
        store = JdbiIdempotencyStore.builder(Jdbi.create(pool)).table(TABLE).build();
        store.createSchema();
    }

    @AfterAll
    static void dropTable() {
        pool.close();
        TestServices.execute("DROP TABLE IF EXISTS " + TABLE + " CASCADE", "DROP SEQUENCE IF EXISTS " + TABLE
                + "_fencing_seq");
    }

    @Override
    protected IdempotencyStore createStore() {
        return store;
    }

    @Override
    protected void closeStore(IdempotencyStore closed) {
        // the store and its pool live as long as the class
    }

    /** The engine's own contract run over this store covers the full count; through the proxy, a tenth suffices. */
    @Override
    protected int manyKeysCount() {
        return 1_000;
    }
}
