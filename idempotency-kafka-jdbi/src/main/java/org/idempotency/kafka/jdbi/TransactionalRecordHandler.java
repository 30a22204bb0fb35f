package org.idempotency.kafka.jdbi;

import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.idempotency.core.Idempotency;
import org.idempotency.kafka.ClaimedRecordHandler;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.TransactionalOperation;
import org.jdbi.v3.core.Handle;

/**
 * Record handlers whose work writes to the database of the SQL store, made exactly once for those writes: the
 * work runs in a transaction on the store's Jdbi, and the message's record is completed by a statement in that
 * same transaction, conditional on the claim's fencing token. Either both commit or neither does, so a consumer
 * that dies in the middle of a record leaves no effect behind (the next member runs the record again), and a
 * stalled one whose claim was taken over cannot commit its writes (its transaction rolls back). One claim per
 * record, not two: the record's claim, made by the handler or with the poll's batch claims of
 * {@link IdempotentConsumerLoop}, is the one the transaction completes.
 *
 * <pre>{@code
 * IdempotentRecordHandler<String, String> handler = TransactionalRecordHandler
 *         .builder(idempotency, store, "ship-orders", (ConsumerRecord<String, String> record, Handle handle) ->
 *                 handle.createUpdate("INSERT INTO shipments (order_id) VALUES (:order)")
 *                         .bind("order", record.value())
 *                         .execute())
 *         .messageKey(MessageKeyStrategy.header("message-id"))
 *         .build();
 * }</pre>
 *
 * <p>Per record, beyond the work's own statements: the claim (one statement, or a share of a batch), the
 * completion statement and the commit. If the work throws, the transaction rolls back, the claim is released
 * (or the failure recorded, for exceptions the engine declares permanent) and the loop retries the record as
 * its policy says. If the completion finds the claim taken over, or the commit fails, the transaction rolls
 * back and the loop looks at the record again later: by then it is a duplicate, or still held elsewhere.
 * Transactions run at the connection's isolation level (READ COMMITTED in PostgreSQL; see
 * {@link TransactionalOperation} for the higher levels).
 *
 * <p>Not instantiable; the handlers it builds are thread-safe.
 */
public final class TransactionalRecordHandler {

    /**
     * The work for one record, inside the transaction that also completes the record's claim. Called from the
     * consumer's thread, one record at a time; implementations shared by several consumers must be thread-safe.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     */
    @FunctionalInterface
    public interface Work<K, V> {

        /**
         * Does the record's database work on the transaction's handle.
         *
         * @param record the record
         * @param handle the transaction's handle; do not commit or roll back on it
         * @throws Exception if the work failed: its writes roll back and the record is retried
         */
        void handle(ConsumerRecord<K, V> record, Handle handle) throws Exception;
    }

    private TransactionalRecordHandler() {
    }

    /**
     * Starts configuring a transactional record handler; the builder takes the same options as any
     * {@link IdempotentRecordHandler} (message key, request hash, key reuse).
     *
     * @param idempotency the engine; its store must be {@code store} (or a wrapper of it)
     * @param store the SQL store whose database the work writes to
     * @param operationName namespaces the message keys: 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}; use one
     *     per consumer group or purpose
     * @param work the work for one record, given the transaction's handle
     * @param <K> the record key type
     * @param <V> the record value type
     * @return a builder
     * @throws IllegalArgumentException if the engine runs over another SQL store
     */
    public static <K, V> IdempotentRecordHandler.Builder<K, V> builder(Idempotency idempotency,
            JdbiIdempotencyStore store, String operationName, Work<K, V> work) {
        Objects.requireNonNull(idempotency, "idempotency must not be null");
        Objects.requireNonNull(store, "store must not be null");
        Objects.requireNonNull(work, "work must not be null");
        TransactionalOperation<Void> transactional = store.transactional(idempotency.operation(operationName));
        ClaimedRecordHandler<K, V> inTransaction = (record, claim) -> transactional.executeBegun(claim, handle -> {
            work.handle(record, handle);
            return null;
        });
        return IdempotentRecordHandler.builder(idempotency, operationName, inTransaction);
    }
}
