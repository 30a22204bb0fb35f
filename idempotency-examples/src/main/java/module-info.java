/** Runnable demos of the idempotency library. */
module org.idempotency.examples {
    requires org.idempotency.core;

    opens org.idempotency.examples to com.fasterxml.jackson.databind;
}
