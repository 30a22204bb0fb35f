package org.idempotency.jdbi;

import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.testkit.BatchCompleteContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The batch-complete contract against PostgreSQL, on a table of this class's own. */
class PostgresBatchCompleteContractTest extends BatchCompleteContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create("complete_contract", 8);
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
