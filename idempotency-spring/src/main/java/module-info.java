/**
 * Spring support: {@link org.idempotency.spring.Idempotent} on any Spring bean, through plain Spring AOP proxies;
 * completion with Spring-managed transactions (inside them with the SQL store); problem+json answers in Spring
 * MVC; the codec on a Jackson 3 mapper. Transactions, the web and Jackson 3 are optional.
 */
module org.idempotency.spring {
    requires transitive org.idempotency.core;
    requires transitive spring.context;
    requires transitive spring.beans;
    requires transitive spring.core;
    requires transitive spring.aop;
    requires spring.expression;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.datatype.jsr310;
    requires com.fasterxml.jackson.datatype.jdk8;
    requires org.slf4j;
    requires static transitive org.jspecify;

    requires static transitive spring.tx;
    requires static transitive spring.jdbc;
    requires static transitive java.sql;
    requires static transitive org.idempotency.jdbi;
    requires static transitive spring.web;
    requires static org.idempotency.servlet;
    requires static jakarta.servlet;
    requires static transitive tools.jackson.databind;
    requires static tools.jackson.core;

    exports org.idempotency.spring;
    exports org.idempotency.spring.web;
    exports org.idempotency.spring.jdbc;
    exports org.idempotency.spring.jackson;
    // the proxies and the interceptor reach the plans; Spring reads the SpEL root by reflection
    exports org.idempotency.spring.internal to spring.aop, spring.expression, spring.context;

    // stored ResponseEntity results are records of this package, written and read by the codecs
    opens org.idempotency.spring.web to com.fasterxml.jackson.databind, tools.jackson.databind, spring.core,
            spring.beans, spring.context, spring.web;
    opens org.idempotency.spring to spring.core, spring.beans, spring.context;
}
