package org.idempotency.jdbi;

/** Transactional completion on PostgreSQL. */
class TransactionalOperationTest extends TransactionalOperationCases {

    @Override
    TestDatabase database() {
        return PostgresDatabase.get();
    }
}
