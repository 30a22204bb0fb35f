package org.idempotency.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The contract of the optional {@link BatchAcquiringIdempotencyStore} ability, for stores that offer it (in
 * addition to {@link IdempotencyStoreContract}): each outcome of a batch is what a single acquire would have
 * returned, in request order.
 */
public abstract class BatchAcquireContract {

    private static final Duration LEASE = Duration.ofSeconds(60);
    private static final Duration RETENTION = Duration.ofHours(1);

    /** The store under test, fresh for each case. */
    protected BatchAcquiringIdempotencyStore store;

    /** For subclasses. */
    protected BatchAcquireContract() {
    }

    /** Returns a store for one case. Called before each case. */
    protected abstract BatchAcquiringIdempotencyStore createStore();

    /** Releases what {@link #createStore()} opened; the default closes the store if it is AutoCloseable. */
    protected void closeStore(BatchAcquiringIdempotencyStore store) throws Exception {
        if (store instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    @BeforeEach
    void createStoreForCase() {
        store = createStore();
    }

    @AfterEach
    void closeStoreAfterCase() throws Exception {
        closeStore(store);
    }

    private static String newKey() {
        return "kit-batch:" + UUID.randomUUID();
    }

    @Test
    @DisplayName("a batch of fresh keys is acquired, with distinct tokens, in request order")
    void freshBatch() {
        List<AcquireRequest> requests = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            requests.add(new AcquireRequest(newKey(), "h" + i));
        }

        List<AcquireResult> results = store.acquireAll(requests, LEASE);

        assertThat(results).hasSize(50).allSatisfy(r -> assertThat(r).isInstanceOf(AcquireResult.Acquired.class));
        assertThat(results.stream().map(r -> ((AcquireResult.Acquired) r).fencingToken()).distinct()).hasSize(50);
        for (int i = 0; i < 50; i++) {
            long token = ((AcquireResult.Acquired) results.get(i)).fencingToken();
            assertThat(store.find(requests.get(i).key()).orElseThrow().fencingToken()).isEqualTo(token);
            assertThat(store.find(requests.get(i).key()).orElseThrow().requestHash()).isEqualTo("h" + i);
        }
    }

    @Test
    @DisplayName("a mixed batch returns each key's own outcome in request order")
    void mixedBatch() {
        String completed = newKey();
        long completedToken = ((AcquireResult.Acquired) store.acquire(completed, "h", LEASE)).fencingToken();
        store.complete(completed, completedToken, StoredResult.of(new byte[] {42}), RETENTION);
        String running = newKey();
        long runningToken = ((AcquireResult.Acquired) store.acquire(running, "h", LEASE)).fencingToken();
        String fresh = newKey();

        List<AcquireResult> results = store.acquireAll(List.of(new AcquireRequest(completed, "h"),
                new AcquireRequest(fresh, "h"), new AcquireRequest(running, "other")), LEASE);

        assertThat(results).hasSize(3);
        assertThat(((AcquireResult.Existing) results.get(0)).record().status()).isEqualTo(RecordStatus.COMPLETED);
        assertThat(((AcquireResult.Existing) results.get(0)).record().result())
                .isEqualTo(StoredResult.of(new byte[] {42}));
        assertThat(results.get(1)).isInstanceOf(AcquireResult.Acquired.class);
        assertThat(((AcquireResult.Existing) results.get(2)).record().fencingToken()).isEqualTo(runningToken);
        assertThat(((AcquireResult.Existing) results.get(2)).record().matchesRequest("other")).isFalse();
    }

    @Test
    @DisplayName("an empty batch returns an empty list")
    void emptyBatch() {
        assertThat(store.acquireAll(List.of(), LEASE)).isEmpty();
    }

    @Test
    @DisplayName("a batch with a key twice is refused")
    void duplicateKeys() {
        String key = newKey();

        assertThatThrownBy(() -> store.acquireAll(List.of(new AcquireRequest(key, "h"), new AcquireRequest(key, "h")),
                LEASE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @DisplayName("overlapping batches from many threads: every key is won exactly once")
    void concurrentBatches() throws Exception {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            keys.add(newKey());
        }
        ConcurrentHashMap<String, AtomicInteger> wins = new ConcurrentHashMap<>();
        AtomicInteger thread = new AtomicInteger();

        IdempotencyStoreContract.race(8, () -> {
            int offset = thread.getAndIncrement() * 25;
            for (int start = 0; start < keys.size(); start += 40) {
                List<AcquireRequest> batch = new ArrayList<>();
                for (int i = start; i < Math.min(start + 40, keys.size()); i++) {
                    batch.add(new AcquireRequest(keys.get((i + offset) % keys.size()), "h"));
                }
                List<AcquireResult> results = store.acquireAll(batch, LEASE);
                for (int i = 0; i < results.size(); i++) {
                    if (results.get(i) instanceof AcquireResult.Acquired) {
                        wins.computeIfAbsent(batch.get(i).key(), k -> new AtomicInteger()).incrementAndGet();
                    }
                }
            }
            return null;
        });

        assertThat(wins).hasSize(keys.size());
        assertThat(wins.values()).allSatisfy(count -> assertThat(count).hasValue(1));
    }
}
