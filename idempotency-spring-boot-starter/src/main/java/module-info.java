/**
 * The Spring Boot starter: auto-configuration of idempotency (engine, store, codec, {@code @Idempotent}, the servlet
 * filter, Actuator, Kafka consumer loops) for Spring Boot 4.0 and 3.5.
 */
module org.idempotency.spring.boot {
    requires transitive org.idempotency.spring;
    requires transitive org.idempotency.core;
    requires transitive spring.boot;
    requires transitive spring.boot.autoconfigure;
    requires transitive spring.context;
    requires transitive spring.beans;
    requires transitive spring.core;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    requires static transitive org.jspecify;

    requires static org.idempotency.redis;
    requires static redisson;
    requires static org.idempotency.jdbi;
    requires static org.jdbi.v3.core;
    requires static java.sql;
    requires static spring.jdbc;
    requires static spring.tx;
    requires static org.idempotency.servlet;
    requires static jakarta.servlet;
    requires static spring.web;
    requires static transitive org.idempotency.kafka;
    requires static tools.jackson.databind;
    requires static transitive spring.boot.actuator;
    requires static spring.boot.actuator.autoconfigure;
    requires static transitive spring.boot.health;
    requires static transitive org.idempotency.micrometer;
    requires static transitive micrometer.observation;
    requires static transitive micrometer.core;

    exports org.idempotency.spring.boot;
    exports org.idempotency.spring.boot.actuate;
    exports org.idempotency.spring.boot.kafka;

    // Spring creates the configuration classes and reads their bean methods; Actuator writes the endpoint's records
    opens org.idempotency.spring.boot to spring.core, spring.beans, spring.context, spring.boot;
    opens org.idempotency.spring.boot.actuate to spring.core, spring.beans, spring.context, spring.boot,
            spring.boot.actuator, com.fasterxml.jackson.databind, tools.jackson.databind;
    opens org.idempotency.spring.boot.kafka to spring.core, spring.beans, spring.context;
}
