/**
 * A Jakarta Servlet 6 filter with the semantics of the IETF {@code Idempotency-Key} header: see
 * {@link org.idempotency.servlet.IdempotencyFilter}.
 */
module org.idempotency.servlet {
    requires transitive org.idempotency.core;
    requires transitive jakarta.servlet;
    requires org.slf4j;
    requires static transitive org.jspecify;

    exports org.idempotency.servlet;

    // stored responses are encoded by the core's Jackson codec
    opens org.idempotency.servlet.internal to com.fasterxml.jackson.databind;
}
