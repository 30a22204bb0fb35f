package org.idempotency.jdbi;

import org.idempotency.api.spi.BatchExtendingIdempotencyStore;
import org.idempotency.testkit.BatchExtendContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The batch-extend contract against MariaDB, on a table of this class's own. */
class MariaDbBatchExtendContractTest extends BatchExtendContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "extend_contract", 8);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @Override
    protected BatchExtendingIdempotencyStore createStore() {
        return table.store();
    }
}
