package org.idempotency.jdbi;

/** Executions begun ahead, completed in their work's transaction, on MariaDB. */
class MariaDbTransactionalExecuteBegunTest extends TransactionalExecuteBegunCases {

    @Override
    TestDatabase database() {
        return MariaDbDatabase.get();
    }
}
