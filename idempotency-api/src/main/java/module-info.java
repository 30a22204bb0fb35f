/**
 * The idempotency API: what users catch and inspect, and the SPI that stores implement.
 *
 * <p>{@code org.idempotency.api} holds the value types ({@link org.idempotency.api.IdempotencyRecord}),
 * the exception tree rooted in {@link org.idempotency.api.IdempotencyException}, the listener and the
 * result codec. {@code org.idempotency.api.spi} holds the store SPI and provider discovery contract.
 */
module org.idempotency.api {
    requires static transitive org.jspecify;

    exports org.idempotency.api;
    exports org.idempotency.api.spi;
}
