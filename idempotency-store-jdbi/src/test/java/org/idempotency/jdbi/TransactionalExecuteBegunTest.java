package org.idempotency.jdbi;

/** Executions begun ahead, completed in their work's transaction, on PostgreSQL. */
class TransactionalExecuteBegunTest extends TransactionalExecuteBegunCases {

    @Override
    TestDatabase database() {
        return PostgresDatabase.get();
    }
}
