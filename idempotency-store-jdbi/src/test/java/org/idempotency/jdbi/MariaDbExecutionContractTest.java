package org.idempotency.jdbi;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.IdempotencyExecutionContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The whole execution contract (the engine end to end) against MariaDB, on a table of this class's own. */
class MariaDbExecutionContractTest extends IdempotencyExecutionContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "execution_contract", 8);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @Override
    protected IdempotencyStore createStore() {
        return table.store();
    }

    /**
     * 2,500 keys over 8 threads: 20,000 calls, 17,500 of them replays through the acquire's upsert (a row lock and
     * a sequence value each), the same statements for every key as at 10,000. The full count runs on PostgreSQL
     * and Redis; here it would add about a minute to every build.
     */
    @Override
    protected int manyKeysCount() {
        return 2_500;
    }
}
