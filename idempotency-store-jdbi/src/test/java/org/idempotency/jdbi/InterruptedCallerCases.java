package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.core.Idempotency;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A caller whose thread is interrupted still learns what the store did. HikariCP refuses to wait for a
 * connection on an interrupted thread (nothing was sent, yet the call would fail); the store waits for its
 * connection regardless and keeps the interrupt for the caller. The pool of this class has one connection, which
 * the tests hold for a moment so that every call must wait for it. On each database ({@link InterruptedCallerTest},
 * {@link MariaDbInterruptedCallerTest}): its driver, too, must run a statement to its end on an interrupted thread.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class InterruptedCallerCases {

    private static final Duration LEASE = Duration.ofMinutes(1);
    private static final Duration RETENTION = Duration.ofHours(1);

    private TestTable table;
    private JdbiIdempotencyStore store;
    private ExecutorService pool;

    /** The database the cases run on. */
    abstract TestDatabase database();

    @BeforeAll
    void createTable() {
        table = TestTable.create(database(), "interrupted", 1);
    }

    @AfterAll
    void dropTable() {
        table.close();
    }

    @BeforeEach
    void createStore() {
        store = table.store();
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stopThreads() {
        pool.shutdownNow();
    }

    /**
     * Runs a call on an interrupted thread while another thread holds the pool's only connection for a moment;
     * checks that the call left the interrupt set.
     */
    private <T> T interruptedWhilePoolBusy(Supplier<T> call) throws Exception {
        CountDownLatch held = new CountDownLatch(1);
        pool.submit(() -> {
            Handle handle = table.jdbi.open();
            try {
                held.countDown();
                Thread.sleep(300);
            } finally {
                handle.close();
            }
            return null;
        });
        assertThat(held.await(20, TimeUnit.SECONDS)).isTrue();
        Thread.currentThread().interrupt();
        try {
            T result = call.get();
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept for the caller").isTrue();
            return result;
        } finally {
            Thread.interrupted();
        }
    }

    private static String newKey() {
        return "interrupted:" + UUID.randomUUID();
    }

    @Test
    @DisplayName("acquire waits for a connection and takes the key")
    void acquire() throws Exception {
        String key = newKey();

        AcquireResult result = interruptedWhilePoolBusy(() -> store.acquire(key, "h", LEASE));

        assertThat(result).isInstanceOf(AcquireResult.Acquired.class);
        List<AcquireRequest> batch = List.of(new AcquireRequest(newKey(), "h"), new AcquireRequest(key, "h"));
        List<AcquireResult> results = interruptedWhilePoolBusy(() -> store.acquireAll(batch, LEASE));
        assertThat(results.get(0)).isInstanceOf(AcquireResult.Acquired.class);
        assertThat(results.get(1)).isInstanceOf(AcquireResult.Existing.class);
    }

    @Test
    @DisplayName("complete, fail, release, extend and find wait for a connection and report what they did")
    void finishing() throws Exception {
        String completed = newKey();
        long completedToken = ((AcquireResult.Acquired) store.acquire(completed, "h", LEASE)).fencingToken();
        assertThat(interruptedWhilePoolBusy(() -> store.extend(completed, completedToken, LEASE))).isTrue();
        assertThat(interruptedWhilePoolBusy(() -> store.complete(completed, completedToken,
                StoredResult.of(new byte[] {4}), RETENTION))).isTrue();
        assertThat(interruptedWhilePoolBusy(() -> store.find(completed)).orElseThrow().status())
                .isEqualTo(RecordStatus.COMPLETED);

        String failed = newKey();
        long failedToken = ((AcquireResult.Acquired) store.acquire(failed, "h", LEASE)).fencingToken();
        assertThat(interruptedWhilePoolBusy(() -> store.fail(failed, failedToken, new StoredFailure("E", "m"),
                RETENTION))).isTrue();

        String released = newKey();
        long releasedToken = ((AcquireResult.Acquired) store.acquire(released, "h", LEASE)).fencingToken();
        assertThat(interruptedWhilePoolBusy(() -> store.release(released, releasedToken))).isTrue();
        assertThat(store.find(released)).isEmpty();
    }

    @Test
    @DisplayName("a transactional completion waits for its connection, runs the work once and commits it")
    void transactional() throws Exception {
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            TransactionalOperation<String> operation = store.transactional(
                    idempotency.operation("interrupted", String.class));
            String key = UUID.randomUUID().toString();

            String result = interruptedWhilePoolBusy(() -> operation.execute(key, "h", handle -> "done"));

            assertThat(result).isEqualTo("done");
            assertThat(store.find("interrupted:" + key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
        }
    }
}
