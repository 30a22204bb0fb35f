package org.idempotency.jdbi;

/** Two application nodes racing on one table in MariaDB. */
class MariaDbTwoNodesTest extends TwoNodesCases {

    @Override
    TestDatabase database() {
        return MariaDbDatabase.get();
    }
}
