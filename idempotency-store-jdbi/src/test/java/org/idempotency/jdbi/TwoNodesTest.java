package org.idempotency.jdbi;

/** Two application nodes racing on one table in PostgreSQL. */
class TwoNodesTest extends TwoNodesCases {

    @Override
    TestDatabase database() {
        return PostgresDatabase.get();
    }
}
