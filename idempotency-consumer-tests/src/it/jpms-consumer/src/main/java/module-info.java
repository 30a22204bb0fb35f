module com.example.orders {
    requires org.idempotency.core;   // the engine; org.idempotency.api comes with it
    requires org.idempotency.kafka;  // an automatic module
    requires kafka.clients;          // kafka-clients' name, which Java derives from its file name

    // the results are records of this package: Jackson, the default codec, reads and creates them
    opens com.example.orders to com.fasterxml.jackson.databind;
}
