package org.idempotency.jdbi;

/** Callers on interrupted threads, on PostgreSQL. */
class InterruptedCallerTest extends InterruptedCallerCases {

    @Override
    TestDatabase database() {
        return PostgresDatabase.get();
    }
}
