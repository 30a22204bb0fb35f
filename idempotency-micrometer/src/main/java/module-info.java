/**
 * Metrics and traces of the idempotency engine on Micrometer's Observation API: {@link
 * org.idempotency.micrometer.IdempotencyMicrometer} observes every execution and every store call of an engine.
 */
module org.idempotency.micrometer {
    requires transitive org.idempotency.core;
    requires transitive micrometer.observation;
    requires transitive micrometer.core;
    requires transitive micrometer.commons;
    requires static transitive org.jspecify;

    exports org.idempotency.micrometer;
}
