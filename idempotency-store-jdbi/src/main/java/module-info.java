/**
 * The SQL idempotency store on Jdbi 3, for PostgreSQL and MariaDB: {@link org.idempotency.jdbi.JdbiIdempotencyStore},
 * transactional completion ({@link org.idempotency.jdbi.TransactionalOperation}), the shipped schema script, and
 * the {@code jdbi} provider for discovery from settings.
 */
module org.idempotency.jdbi {
    requires transitive org.idempotency.core;
    requires transitive org.jdbi.v3.core;
    requires org.jdbi.v3.postgres;
    requires com.zaxxer.hikari;
    requires transitive java.sql;
    requires org.slf4j;
    requires static transitive org.jspecify;

    exports org.idempotency.jdbi;

    provides org.idempotency.api.spi.IdempotencyStoreProvider
            with org.idempotency.jdbi.internal.JdbiStoreProvider;
}
