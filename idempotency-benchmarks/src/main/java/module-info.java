/**
 * JMH benchmarks of the idempotency stores and adapters against their raw floors. Nothing is exported: the
 * benchmarks run from the shaded jar on the class path.
 */
module org.idempotency.benchmarks {
    requires org.idempotency.core;
    requires org.idempotency.redis;
    requires org.idempotency.jdbi;
    // org.idempotency.kafka is read from the class path (see the compiler arguments in pom.xml)
    requires kafka.clients;
    requires kafka.test.common.runtime;
    requires org.idempotency.servlet;
    requires org.idempotency.micrometer;
    requires org.eclipse.jetty.ee10.servlet;
    requires java.net.http;
    requires com.zaxxer.hikari;
    requires java.sql;
    requires java.management;
    requires jdk.management;
    requires jdk.jfr;
    requires camel.sql;
    requires jmh.core;

    opens org.idempotency.benchmarks to com.fasterxml.jackson.databind;
}
