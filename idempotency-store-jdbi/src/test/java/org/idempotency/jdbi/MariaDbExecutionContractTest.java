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
}
