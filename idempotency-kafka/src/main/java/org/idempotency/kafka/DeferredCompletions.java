package org.idempotency.kafka;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.idempotency.core.CompletionBatch;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The records whose handler ran and whose claims wait to be completed together: {@link #flush()} completes them
 * with one {@link CompletionBatch} (one store round trip where the store allows it), before their offsets are
 * committed. Their claims stay open, and renewed, until then. A record whose key is pending must not be claimed
 * again before the flush (it would meet its own claim): {@link #holds} says so.
 *
 * <p>Confined to the loop's thread.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
final class DeferredCompletions<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentConsumerLoop.class);

    /** One record waiting for its completion, with the attempts it took. */
    record Pending<K, V>(ConsumerRecord<K, V> record, Execution<Void> execution, int attempts) {
    }

    /** What a flush did for one record. */
    record Flushed<K, V>(Pending<K, V> pending, boolean stored) {
    }

    private final Idempotency engine;
    private final List<Pending<K, V>> pending = new ArrayList<>();
    /**
     * The message keys of {@code pending}, filled from it only when {@link #holds} is asked: with batch claims
     * it rarely is (only for a second delivery within a poll), so most records are never indexed.
     */
    private final Set<String> keys = new HashSet<>();
    /** How many of {@code pending} are in {@code keys}. */
    private int indexed;

    DeferredCompletions(Idempotency engine) {
        this.engine = engine;
    }

    /** Adds a record whose handler ran; its claim is completed at the next flush. */
    void add(ConsumerRecord<K, V> record, Execution<Void> execution, int attempts) {
        pending.add(new Pending<>(record, execution, attempts));
    }

    /** Whether a record of this message key waits for its completion. */
    boolean holds(String messageKey) {
        for (int size = pending.size(); indexed < size; indexed++) {
            keys.add(pending.get(indexed).execution().key());
        }
        return keys.contains(messageKey);
    }

    /** Whether nothing waits. */
    boolean isEmpty() {
        return pending.isEmpty();
    }

    /**
     * Completes every pending record in one batch and says, per record, whether its completion was stored. A record
     * not stored lost its claim (reported by the engine as {@code LEASE_LOST}) or met a store fault
     * ({@code STORE_ERROR}): it must not be committed.
     */
    List<Flushed<K, V>> flush() {
        if (pending.isEmpty()) {
            return List.of();
        }
        List<Pending<K, V>> batch = new ArrayList<>(pending);
        pending.clear();
        keys.clear();
        indexed = 0;
        List<Boolean> stored;
        try {
            CompletionBatch completions = engine.completionBatch();
            for (Pending<K, V> each : batch) {
                completions.add(each.execution(), null);
            }
            stored = completions.complete();
        } catch (RuntimeException e) {
            LOG.warn("Completing a batch of {} processed records failed; they are not committed and will be looked at"
                    + " again", batch.size(), e);
            for (Pending<K, V> each : batch) {
                each.execution().close(); // releases a claim still open; a finished one is left as it is
            }
            stored = null;
        }
        List<Flushed<K, V>> flushed = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            flushed.add(new Flushed<>(batch.get(i), stored != null && stored.get(i)));
        }
        return flushed;
    }
}
