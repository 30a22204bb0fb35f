/**
 * The contract test kit: abstract JUnit 5 classes a store author extends to check a store against the
 * store SPI ({@link org.idempotency.testkit.IdempotencyStoreContract}) and the execution contract
 * ({@link org.idempotency.testkit.IdempotencyExecutionContract}), and a fault-injecting store wrapper.
 */
module org.idempotency.testkit {
    requires transitive org.idempotency.core;
    requires transitive org.junit.jupiter.api;
    requires transitive org.assertj.core;
    requires static transitive org.jspecify;

    exports org.idempotency.testkit;

    opens org.idempotency.testkit to org.junit.platform.commons;
}
