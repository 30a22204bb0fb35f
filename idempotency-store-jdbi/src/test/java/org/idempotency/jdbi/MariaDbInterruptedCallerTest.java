package org.idempotency.jdbi;

/** Callers on interrupted threads, on MariaDB. */
class MariaDbInterruptedCallerTest extends InterruptedCallerCases {

    @Override
    TestDatabase database() {
        return MariaDbDatabase.get();
    }
}
