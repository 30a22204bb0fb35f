package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.BeginOutcome;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link TransactionalOperation#executeBegun}: an execution claimed ahead (such as with {@code beginAll}) is
 * completed in the transaction of its work, or released when the transaction does not commit. On each database
 * ({@link TransactionalExecuteBegunTest}, {@link MariaDbTransactionalExecuteBegunTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TransactionalExecuteBegunCases {

    private TestTable table;
    private BusinessTable orders;

    private JdbiIdempotencyStore store;
    private Idempotency idempotency;
    private IdempotentOperation<Long> operation;
    private TransactionalOperation<Long> transactional;

    /** The database the cases run on. */
    abstract TestDatabase database();

    @BeforeAll
    void createTables() {
        table = TestTable.create(database(), "begun", 4);
        orders = new BusinessTable(database(), "begun_orders");
    }

    @BeforeEach
    void createEngine() {
        store = table.store();
        idempotency = Idempotency.builder(store).build();
        operation = idempotency.operation("begun", Long.class);
        transactional = store.transactional(operation);
    }

    @AfterAll
    void dropTables() {
        orders.close();
        table.close();
    }

    @AfterEach
    void closeEngine() {
        idempotency.close();
    }

    @Test
    @DisplayName("an execution begun in a batch is completed in its work's transaction")
    void completesInTheTransaction() {
        List<BeginOutcome<Long>> begun = operation.beginAll(List.of(new IdempotentOperation.Request("k-1", "h"),
                new IdempotentOperation.Request("k-2", "h")));

        long id = transactional.executeBegun(begun.get(0).execution(), h -> orders.insert(h, "begun:k-1", "here"));

        assertThat(orders.rows("begun:k-1")).isOne();
        assertThat(store.find("begun:k-1").orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(operation.begin("k-1", "h").replayedResult()).isEqualTo(id);
        begun.get(1).execution().close();
    }

    @Test
    @DisplayName("work that throws rolls back its rows and releases the begun execution")
    void failureReleases() {
        Execution<Long> execution = operation.begin("k-3", "h");
        IllegalStateException failure = new IllegalStateException("boom");

        assertThatThrownBy(() -> transactional.executeBegun(execution, h -> {
            orders.insert(h, "begun:k-3", "here");
            throw failure;
        })).isSameAs(failure);

        assertThat(orders.rows("begun:k-3")).isZero();
        assertThat(store.find("begun:k-3")).isEmpty();
    }

    @Test
    @DisplayName("an execution taken over meanwhile cannot commit: its rows roll back")
    void takenOverRollsBack() {
        FaultInjectingStore noRenewals = FaultInjectingStore.wrap(store).failAlways(FaultInjectingStore.Operation.EXTEND);
        try (Idempotency stalling = Idempotency.builder(noRenewals).lease(Duration.ofMillis(300)).build()) {
            IdempotentOperation<Long> stalled = stalling.operation("begun", Long.class);
            Execution<Long> execution = stalled.begin("k-4", "h");
            Execution<Long> successor = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (successor == null) { // the lease ends by the database's clock, then the key is taken over
                try {
                    successor = operation.begin("k-4", "h");
                } catch (IdempotencyInProgressException e) {
                    assertThat(System.nanoTime()).as("taken over within 30 s").isLessThan(deadline);
                }
            }

            assertThatThrownBy(() -> store.transactional(stalled).executeBegun(execution,
                    h -> orders.insert(h, "begun:k-4", "stale"))).isInstanceOf(IdempotencyLeaseLostException.class);

            assertThat(orders.rows("begun:k-4")).isZero();
            assertThat(successor.complete(4L)).isTrue();
        }
    }

    @Test
    @DisplayName("a replay or an execution of another operation is refused, naming the key")
    void refusesWhatItCannotComplete() {
        Execution<Long> done = operation.begin("k-5", "h");
        done.complete(5L);
        Execution<Long> replay = operation.begin("k-5", "h");
        assertThatThrownBy(() -> transactional.executeBegun(replay, h -> 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("begun:k-5").hasMessageContaining("replay");

        Execution<Long> other = idempotency.operation("other", Long.class).begin("k-6", "h");
        assertThatThrownBy(() -> transactional.executeBegun(other, h -> 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("other:k-6");
        other.close();
    }
}
