/**
 * Exactly-once effects of Kafka records in the database of the SQL store: a record handler whose database work
 * and the completion of the message's record commit in one transaction.
 */
module org.idempotency.kafka.jdbi {
    requires transitive org.idempotency.kafka;
    requires transitive org.idempotency.jdbi;
    requires static transitive org.jspecify;

    exports org.idempotency.kafka.jdbi;
}
