package org.idempotency.spring;

import org.idempotency.core.CompletionWriter;
import org.idempotency.core.Execution;

/**
 * Completes the records of {@link Idempotent} methods inside the Spring-managed transaction they run in, so the
 * method's writes and the completion commit or roll back together (exactly-once for those writes). Without
 * one, or when it cannot join the current transaction, a method running in a transaction has its record
 * completed after the commit (and released after a rollback). The SQL store's implementation is
 * {@link org.idempotency.spring.jdbc.JdbiTransactionalCompletion}.
 *
 * <p>Implementations are thread-safe.
 */
public interface TransactionalCompletion {

    /**
     * Whether the completion of {@code execution} can be written in the transaction active on this thread: the
     * transaction works on the store's database, and the execution's engine runs over this store.
     *
     * @param execution an owned execution
     * @return whether {@link #writer()} can complete it in the current transaction
     */
    boolean canJoinCurrentTransaction(Execution<?> execution);

    /**
     * Writes a completion on the current transaction's connection, conditional on the fencing token, without
     * committing; called just before the transaction commits.
     *
     * @return the writer
     */
    CompletionWriter writer();
}
