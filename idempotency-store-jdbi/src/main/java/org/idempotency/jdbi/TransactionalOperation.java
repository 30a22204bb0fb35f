package org.idempotency.jdbi;

import java.util.Objects;
import java.util.Optional;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.core.Execution;
import org.idempotency.core.IdempotentOperation;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.HandleConsumer;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An idempotent operation whose work writes to the same database as the store, made exactly-once for those
 * writes: the work runs in a transaction on the store's Jdbi, and the record is completed by a statement in
 * that same transaction, conditional on the fencing token. Either both commit or neither does. Obtain it from
 * {@link JdbiIdempotencyStore#transactional}.
 *
 * <pre>{@code
 * TransactionalOperation<Order> createOrder = store.transactional(idempotency.operation("create-order", Order.class));
 * Order order = createOrder.execute(key, requestHash, handle -> {
 *     long id = handle.createUpdate("INSERT INTO orders (customer, amount) VALUES (:customer, :amount)")
 *             .bind("customer", customer).bind("amount", amount)
 *             .executeAndReturnGeneratedKeys("id").mapTo(Long.class).one();
 *     return new Order(id, customer, amount);
 * });
 * }</pre>
 *
 * <p>Per call:
 * <ol>
 *   <li>The key is acquired as by {@link IdempotentOperation#begin}: one auto-commit statement, committed
 *       before the work starts so that other nodes see the key taken and the lease is renewed meanwhile. A
 *       replay returns the stored result at once, without opening a transaction; a key reused with another
 *       request, a key in progress elsewhere and a recorded failure throw as for {@code execute}.</li>
 *   <li>A transaction is opened on a handle of its own (never one the calling thread already holds) and the
 *       work runs in it.</li>
 *   <li>The completion is written in the same transaction: one {@code UPDATE} conditional on the key, the fencing
 *       token, the status and visibility, then the commit. Overhead over the work's own transaction: the
 *       acquire statement and this one.</li>
 *   <li>If the token no longer owns the record (the lease expired and another node took over, or the record
 *       expired), nothing is written: the transaction rolls back, the work's writes with it, and
 *       {@link IdempotencyLeaseLostException} is thrown. The new owner's run is the one that counts.</li>
 *   <li>If the work throws, the transaction rolls back and the key is released (or, for exceptions the engine
 *       declares permanent, the failure is recorded), and the work's exception is rethrown unchanged.</li>
 *   <li>If the completion statement or the commit fails (connection lost, serialization failure), the
 *       transaction is rolled back, the key released, and {@link IdempotencyStoreException} is thrown. A commit
 *       whose answer was lost may still have happened: a retry then replays the stored result.</li>
 * </ol>
 *
 * <p>Isolation: the default is the connection's (READ COMMITTED in PostgreSQL), which is what the completion
 * needs. At REPEATABLE READ or SERIALIZABLE ({@link #withIsolation}) PostgreSQL refuses to update a row that
 * changed after the transaction's first statement, and the background lease renewal changes the record: work
 * that outlives the engine's renewal interval then fails at completion with a serialization failure (the
 * transaction rolls back, the key is released, {@link IdempotencyStoreException} is thrown). Keep such work
 * shorter than the renewal interval.
 *
 * <p>If the engine fails open and the store could not be reached, the work runs in a plain transaction,
 * unprotected, as the engine reports. Immutable and thread-safe.
 *
 * @param <T> the result type
 */
public final class TransactionalOperation<T> {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionalOperation.class);

    private final IdempotentOperation<T> operation;
    private final JdbiIdempotencyStore store;
    private final @Nullable TransactionIsolationLevel isolation;

    TransactionalOperation(IdempotentOperation<T> operation, JdbiIdempotencyStore store,
            @Nullable TransactionIsolationLevel isolation) {
        this.operation = operation;
        this.store = store;
        this.isolation = isolation;
    }

    /**
     * The underlying operation.
     *
     * @return the operation this one makes transactional
     */
    public IdempotentOperation<T> operation() {
        return operation;
    }

    /**
     * The isolation level of the work's transaction, if one was chosen; otherwise the connection's.
     *
     * @return the chosen level, or empty for the connection's
     */
    public Optional<TransactionIsolationLevel> isolation() {
        return Optional.ofNullable(isolation);
    }

    /**
     * This operation with the work's transaction at the given isolation level (see the class comment).
     *
     * @param level the isolation level of the work's transaction
     * @return a copy of this operation with that level
     */
    public TransactionalOperation<T> withIsolation(TransactionIsolationLevel level) {
        Objects.requireNonNull(level, "level must not be null");
        return new TransactionalOperation<>(operation, store, level);
    }

    /**
     * Runs {@code work} once for {@code key}, in a transaction that also completes the record; or returns the
     * result stored by the run that did.
     *
     * @param <X> the exception type of the work
     * @param key the caller's idempotency key
     * @param requestHash a hash of the request, or {@code null} to skip the reuse check
     * @param work the work, given the transaction's handle; it must neither commit nor roll back
     * @return the work's result, or the stored result on a replay
     * @throws X the work's own exception, unchanged, after the rollback and the release of the key
     * @throws IdempotencyLeaseLostException if another execution took the key over before the completion; the
     *     work's writes were rolled back
     * @throws IdempotencyKeyReusedException if the key holds a different request
     * @throws IdempotencyInProgressException if the key is held by a running execution
     * @throws IdempotencyReplayedFailureException if an earlier run failed permanently
     * @throws IdempotencyStoreException if the store fails to acquire the key (unless the engine fails open), or
     *     the completion or the commit fails
     */
    public <X extends Exception> T execute(String key, @Nullable String requestHash,
            HandleCallback<? extends T, X> work) throws X {
        Objects.requireNonNull(work, "work must not be null");
        Execution<T> execution = operation.begin(key, requestHash);
        if (execution.isReplay()) {
            return execution.replayedResult();
        }
        return executeBegun(execution, work);
    }

    /**
     * Runs {@code work} for an execution already begun on this operation, in a transaction that also completes
     * it: steps 2 to 6 of the class description, as {@link #execute} takes them after the acquire. For callers
     * that claim keys ahead of the work, such as a Kafka consumer claiming a poll's keys with
     * {@link IdempotentOperation#beginAll}. The execution is finished on every path: completed in the
     * transaction, or released (or its failure recorded) when the transaction does not commit.
     *
     * @param execution an owned, unfinished execution of this operation
     * @param work the work, given the transaction's handle; it must neither commit nor roll back
     * @param <X> the type of the work's own exception
     * @return the work's result
     * @throws X the work's own exception, unchanged, after the rollback and the release of the key
     * @throws IllegalArgumentException if the execution is a replay, or belongs to another operation
     * @throws IdempotencyLeaseLostException if another execution took the key over before the completion; the
     *     work's writes were rolled back
     * @throws IdempotencyStoreException if the completion or the commit fails
     */
    public <X extends Exception> T executeBegun(Execution<T> execution, HandleCallback<? extends T, X> work)
            throws X {
        Objects.requireNonNull(execution, "execution must not be null");
        Objects.requireNonNull(work, "work must not be null");
        if (execution.isReplay()) {
            throw new IllegalArgumentException("The execution of key '" + execution.storedKey() + "' is a replay:"
                    + " there is no work to run");
        }
        if (execution.operation().engine() != operation.engine()
                || !execution.operation().name().equals(operation.name())) {
            throw new IllegalArgumentException("The execution of key '" + execution.storedKey() + "' belongs to"
                    + " operation '" + execution.operation().name() + "', not to this transactional operation '"
                    + operation.name() + "' (or to another engine)");
        }
        if (execution.isUnprotected()) {
            try (Handle handle = store.open(store.jdbi())) {
                return inTransaction(handle, h -> work.withHandle(h));
            }
        }
        Handle handle;
        try {
            handle = store.open(store.jdbi());
        } catch (RuntimeException e) {
            execution.release();
            throw store.fault("Cannot open a database handle for the transactional completion",
                    execution.storedKey(), e);
        }
        Progress<T> progress = new Progress<>();
        Throwable failure = null;
        try {
            return inTransaction(handle, h -> {
                progress.phase = Phase.WORK;
                T result = work.withHandle(h);
                progress.phase = Phase.COMPLETION;
                boolean completed = execution.complete(result, 0, (storedKey, token, stored, retention) -> {
                    if (!store.completeOn(h, storedKey, token, stored, retention)) {
                        return false; // no longer ours: the exception below rolls the work back
                    }
                    h.commit(); // the work's writes and the completion, together
                    return true;
                });
                if (!completed) {
                    progress.phase = Phase.LEASE_LOST;
                    throw new IdempotencyLeaseLostException(execution.storedKey(), execution.fencingToken());
                }
                progress.phase = Phase.COMMITTED;
                progress.result = result;
                return result;
            });
        } catch (Throwable e) {
            switch (progress.phase) {
                case COMMITTED:
                    // committed; only restoring the connection afterwards failed
                    LOG.warn("The transaction of key {} committed, but the handle could not be reset afterwards: {}",
                            execution.key(), store.describe(e));
                    return progress.result;
                case WORK:
                    failure = e;
                    execution.abandon(e); // release, or record a permanent failure
                    throw e;
                case LEASE_LOST:
                    failure = e;
                    throw e;
                default:
                    execution.release();
                    IdempotencyStoreException thrown = e instanceof IdempotencyStoreException storeError ? storeError
                            : store.fault("The transaction with the work and the completion of the record did not"
                                    + " commit; the key was released so that a retry runs the work again",
                                    execution.storedKey(), e);
                    failure = thrown;
                    throw thrown;
            }
        } finally {
            try {
                handle.close();
            } catch (RuntimeException closeError) {
                if (failure != null) {
                    failure.addSuppressed(store.withoutData(closeError));
                } else {
                    LOG.warn("Closing the handle of key {} failed: {}", execution.key(), store.describe(closeError));
                }
            }
        }
    }

    /**
     * Like {@link #execute}, for work without a result.
     *
     * @param <X> the exception type of the work
     * @param key the caller's idempotency key
     * @param requestHash a hash of the request, or {@code null} to skip the reuse check
     * @param work the work, given the transaction's handle; it must neither commit nor roll back
     * @throws X the work's own exception, unchanged, after the rollback and the release of the key
     */
    public <X extends Exception> void run(String key, @Nullable String requestHash, HandleConsumer<X> work)
            throws X {
        Objects.requireNonNull(work, "work must not be null");
        execute(key, requestHash, handle -> {
            work.useHandle(handle);
            return null;
        });
    }

    private <R, X extends Exception> R inTransaction(Handle handle, HandleCallback<R, X> callback) throws X {
        return isolation == null ? handle.inTransaction(callback) : handle.inTransaction(isolation, callback);
    }

    private enum Phase {
        BEGIN, WORK, COMPLETION, LEASE_LOST, COMMITTED
    }

    /** Where one call got to, for the failure handling; confined to the calling thread. */
    private static final class Progress<T> {
        Phase phase = Phase.BEGIN;
        @Nullable T result;
    }
}
