package org.idempotency.jdbi;

import java.time.Duration;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.testkit.IdempotencyStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The whole store contract against MariaDB, on a table of this class's own. */
class MariaDbStoreContractTest extends IdempotencyStoreContract {

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create(MariaDbDatabase.get(), "store_contract", 8);
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    @Override
    protected IdempotencyStore createStore() {
        return table.store();
    }

    /** Real time on a shared, loaded machine: leave a wide takeover window. */
    @Override
    protected Duration shortLease() {
        return Duration.ofMillis(500);
    }
}
