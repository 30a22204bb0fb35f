package org.idempotency.spring.jdbc;

import java.sql.Connection;
import java.util.Objects;
import javax.sql.DataSource;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.CompletionWriter;
import org.idempotency.core.Execution;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.spring.TransactionalCompletion;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Completes records of the SQL store inside the Spring-managed transaction of the {@code DataSource} the store
 * works on: {@code DataSourceTransactionManager} (JdbcTemplate, jOOQ, MyBatis) and {@code JpaTransactionManager}
 * (Hibernate), which expose the transaction's JDBC connection. The completion is the store's conditional
 * {@code UPDATE} ({@link JdbiIdempotencyStore#completeOn}) on that connection, just before the commit: the
 * method's writes and the completed record commit together, and if another execution took the key over
 * meanwhile, the {@code UPDATE} matches nothing and the transaction rolls back with
 * {@link org.idempotency.api.IdempotencyLeaseLostException}.
 *
 * <p>It joins only a transaction bound to the same {@code DataSource} (the one given here, as Spring's
 * transaction managers key it) and an execution whose engine runs over this store (or over a wrapper of it
 * named with {@link #withEngineStore}); otherwise records are completed after the commit. The store itself must not run on a
 * transaction-aware proxy of the {@code DataSource}: its own statements commit at once, on connections of
 * their own.
 *
 * <p>Thread-safe.
 */
public final class JdbiTransactionalCompletion implements TransactionalCompletion {

    private final JdbiIdempotencyStore store;
    private final DataSource dataSource;
    private final IdempotencyStore engineStore;
    private final CompletionWriter writer;

    /**
     * A completion for transactions of {@code dataSource}.
     *
     * @param store the SQL store the engine runs over
     * @param dataSource the data source of the transactions to join, the store's database
     */
    public JdbiTransactionalCompletion(JdbiIdempotencyStore store, DataSource dataSource) {
        this(store, dataSource, store);
    }

    private JdbiTransactionalCompletion(JdbiIdempotencyStore store, DataSource dataSource,
            IdempotencyStore engineStore) {
        this.store = Objects.requireNonNull(store, "store must not be null");
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource must not be null");
        this.engineStore = Objects.requireNonNull(engineStore, "engineStore must not be null");
        this.writer = (storedKey, fencingToken, result, retention) -> {
            Connection connection = DataSourceUtils.getConnection(this.dataSource);
            try {
                return this.store.completeOn(connection, storedKey, fencingToken, result, retention);
            } finally {
                DataSourceUtils.releaseConnection(connection, this.dataSource);
            }
        };
    }

    /**
     * This completion for engines that run over a wrapper of the store (one that adds metrics or injects faults,
     * and passes every call on to the store given here).
     *
     * @param wrapper the store the engine runs over
     * @return a completion that joins the transactions of executions over {@code wrapper}
     */
    public JdbiTransactionalCompletion withEngineStore(IdempotencyStore wrapper) {
        return new JdbiTransactionalCompletion(store, dataSource, wrapper);
    }

    @Override
    public boolean canJoinCurrentTransaction(Execution<?> execution) {
        if (execution.isUnprotected() || execution.isReplay()
                || execution.operation().engine().store() != engineStore) {
            return false;
        }
        return TransactionSynchronizationManager.isActualTransactionActive()
                && TransactionSynchronizationManager.getResource(dataSource) instanceof ConnectionHolder holder
                && holder.getConnectionHandle() != null;
    }

    @Override
    public CompletionWriter writer() {
        return writer;
    }

    @Override
    public String toString() {
        return "JdbiTransactionalCompletion[" + store + "]";
    }
}
