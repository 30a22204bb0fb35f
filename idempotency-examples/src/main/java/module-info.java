/** The order-service demo: an embedded Jetty 12 with the idempotency filter and an idempotent order service. */
module org.idempotency.examples {
    requires org.idempotency.servlet;
    requires org.eclipse.jetty.ee10.servlet;
    requires java.net.http;
    requires static org.jspecify;

    opens org.idempotency.examples to com.fasterxml.jackson.databind;
}
