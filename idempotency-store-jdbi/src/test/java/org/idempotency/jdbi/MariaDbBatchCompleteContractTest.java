package org.idempotency.jdbi;

import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.testkit.BatchCompleteContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The batch-complete contract against MariaDB, on a table of this class's own. */
class MariaDbBatchCompleteContractTest extends BatchCompleteContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "complete_contract", 8);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @Override
    protected BatchCompletingIdempotencyStore createStore() {
        return table.store();
    }
}
