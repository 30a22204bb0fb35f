package org.idempotency.jdbi;

import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.testkit.BatchAcquireContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The batch-acquire contract against MariaDB, on a table of this class's own. */
class MariaDbBatchAcquireContractTest extends BatchAcquireContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "batch_contract", 8);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @Override
    protected BatchAcquiringIdempotencyStore createStore() {
        return table.store();
    }
}
