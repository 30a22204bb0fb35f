package org.idempotency.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.idempotency.core.Execution;

/**
 * The work for one record whose message key is claimed, which finishes the claim itself: for work that
 * completes the claim together with its own effects (in one database transaction, as the transactional record
 * handler of {@code idempotency-kafka-jdbi} does), or long work that checks its lease between steps
 * ({@link Execution#checkLease()}). Plain work is a {@link RecordHandler}, whose claim
 * {@link IdempotentRecordHandler} completes.
 *
 * <p>The contract:
 * <ul>
 *   <li>{@code claim} is owned (never a replay) and open. Finish it on every path: complete it when the work's
 *       effect happened; release or {@link Execution#abandon abandon} it when the work failed, then throw. A claim
 *       left open is released when this method returns or throws.</li>
 *   <li>An {@link org.idempotency.api.IdempotencyException} about the claim itself, one whose
 *       {@link org.idempotency.api.IdempotencyException#key() key()} is {@code claim.storedKey()} (such as
 *       {@link org.idempotency.api.IdempotencyLeaseLostException} when the completion finds the key taken over,
 *       or {@link org.idempotency.api.IdempotencyStoreException} when it could not be written), means the record
 *       is not finished: {@link IdempotentConsumerLoop} looks at it again later, as at a record in progress
 *       elsewhere. Anything else thrown is the work's own failure (idempotency exceptions of nested calls with
 *       keys of their own included), retried as the loop's policy says.</li>
 * </ul>
 *
 * <p>Called from the consumer's thread, one record at a time.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
@FunctionalInterface
public interface ClaimedRecordHandler<K, V> {

    /**
     * Does the work for one record and finishes its claim.
     *
     * @param record the record
     * @param claim the owned execution of the record's message key
     * @throws Exception if the work failed (after the claim was released or abandoned), or the claim's own
     *     idempotency exception if the claim could not be completed
     */
    void handle(ConsumerRecord<K, V> record, Execution<Void> claim) throws Exception;
}
