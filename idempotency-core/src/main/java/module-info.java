/**
 * The idempotency core: the {@link org.idempotency.core.Idempotency} engine, the embedded in-memory store,
 * ServiceLoader discovery of stores, key and request-hash helpers, and the Jackson result codec.
 */
module org.idempotency.core {
    requires transitive org.idempotency.api;
    requires transitive com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.datatype.jsr310;
    requires com.fasterxml.jackson.datatype.jdk8;
    requires org.slf4j;
    requires static transitive org.jspecify;

    exports org.idempotency.core;

    uses org.idempotency.api.spi.IdempotencyStoreProvider;

    provides org.idempotency.api.spi.IdempotencyStoreProvider
            with org.idempotency.core.internal.InMemoryStoreProvider;
}
