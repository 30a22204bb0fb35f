package org.idempotency.spring.internal;

import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.core.Execution;
import org.idempotency.spring.TransactionalCompletion;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Ties the end of an execution to the Spring-managed transaction the method ran in. Loaded only when
 * spring-tx is on the class path.
 */
final class Transactions {

    private static final Logger LOG = LoggerFactory.getLogger(Transactions.class);

    private Transactions() {
    }

    /** Whether a read-write transaction with synchronization is active on this thread. */
    static boolean inWritableTransaction() {
        return TransactionSynchronizationManager.isSynchronizationActive()
                && TransactionSynchronizationManager.isActualTransactionActive()
                && !TransactionSynchronizationManager.isCurrentTransactionReadOnly();
    }

    /**
     * Completes the execution with the transaction: inside it, just before the commit, if the completion can
     * join it (exactly-once for the transaction's writes); otherwise after the commit. Either way a rollback
     * releases the key, so a retry runs the method again.
     */
    static void completeWithTransaction(Execution<Object> execution, @Nullable Object value, int status,
            @Nullable TransactionalCompletion completion) {
        if (completion != null && completion.canJoinCurrentTransaction(execution)) {
            TransactionSynchronizationManager.registerSynchronization(
                    new CompletionInTransaction(execution, value, status, completion));
        } else {
            TransactionSynchronizationManager.registerSynchronization(
                    new CompletionAfterCommit(execution, value, status));
        }
    }

    /** Runs {@code finishing} once the transaction has ended, whatever its outcome. */
    static void afterCompletion(Execution<Object> execution, Runnable finishing) {
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public int getOrder() {
                return Ordered.LOWEST_PRECEDENCE;
            }

            @Override
            public void afterCompletion(int status) {
                finishing.run();
            }
        });
    }

    /**
     * Writes the completion on the transaction's connection in {@code beforeCommit}, after every other
     * synchronization: the fencing check is then inside the transaction, and a stale owner's commit fails.
     */
    private static final class CompletionInTransaction implements TransactionSynchronization {
        private final Execution<Object> execution;
        private final @Nullable Object value;
        private final int status;
        private final TransactionalCompletion completion;
        private boolean written;
        private boolean lost;

        CompletionInTransaction(Execution<Object> execution, @Nullable Object value, int status,
                TransactionalCompletion completion) {
            this.execution = execution;
            this.value = value;
            this.status = status;
            this.completion = completion;
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST_PRECEDENCE;
        }

        @Override
        public void beforeCommit(boolean readOnly) {
            // a store fault propagates and rolls the transaction back; the execution then stays open
            if (!execution.complete(value, status, completion.writer())) {
                lost = true;
                throw new IdempotencyLeaseLostException(execution.storedKey(), execution.fencingToken());
            }
            written = true;
        }

        @Override
        public void afterCompletion(int outcome) {
            if (lost || (written && outcome == STATUS_COMMITTED)) {
                return;
            }
            if (!written) {
                // rolled back before the completion was written (rollback-only, an exception, a failed write)
                execution.release();
                return;
            }
            // the completion was written, but the transaction did not commit: the record is still ours, in progress
            LOG.warn("The transaction of operation={} key={} {} after the completion was written; releasing the"
                    + " key so that a retry runs the work again", execution.operation().name(), execution.key(),
                    outcome == STATUS_ROLLED_BACK ? "rolled back" : "ended in an unknown state");
            try {
                execution.operation().engine().store().release(execution.storedKey(), execution.fencingToken());
            } catch (RuntimeException e) {
                LOG.warn("Releasing key={} of operation={} failed; it frees itself when its lease ends: {}",
                        execution.key(), execution.operation().name(), e.toString());
            }
        }
    }

    /** Completes after the commit; releases after a rollback (or an unknown outcome). */
    private static final class CompletionAfterCommit implements TransactionSynchronization {
        private final Execution<Object> execution;
        private final @Nullable Object value;
        private final int status;

        CompletionAfterCommit(Execution<Object> execution, @Nullable Object value, int status) {
            this.execution = execution;
            this.value = value;
            this.status = status;
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST_PRECEDENCE;
        }

        @Override
        public void afterCompletion(int outcome) {
            if (outcome == STATUS_COMMITTED) {
                execution.complete(value, status);
            } else {
                if (outcome == STATUS_UNKNOWN) {
                    LOG.warn("The transaction of operation={} key={} ended in an unknown state; releasing the key,"
                            + " so a retry may run the work again", execution.operation().name(), execution.key());
                }
                execution.release();
            }
        }
    }
}
