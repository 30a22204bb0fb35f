package org.idempotency.jdbi;

/** Transactional completion on MariaDB. */
class MariaDbTransactionalOperationTest extends TransactionalOperationCases {

    @Override
    TestDatabase database() {
        return MariaDbDatabase.get();
    }
}
