package org.idempotency.jdbi;

import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.testkit.ForgetContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The forget contract against MariaDB, on a table of this class's own. */
class MariaDbForgetContractTest extends ForgetContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "forget_contract", 8);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @Override
    protected ForgettingIdempotencyStore createStore() {
        return table.store();
    }
}
