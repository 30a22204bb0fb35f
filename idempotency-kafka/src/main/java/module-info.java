/**
 * Effectively-once processing of Kafka records: an idempotent record handler, a consumer loop with manual
 * commits, retries, dead-lettering and safe rebalances, and a deduplicator for hand-written loops.
 */
module org.idempotency.kafka {
    requires transitive org.idempotency.core;
    requires transitive kafka.clients;
    requires org.slf4j;
    requires static transitive org.jspecify;

    exports org.idempotency.kafka;
}
