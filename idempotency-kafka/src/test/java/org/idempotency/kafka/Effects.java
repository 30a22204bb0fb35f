package org.idempotency.kafka;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** The side table of a test: how many times each message's effect happened. Thread-safe. */
final class Effects {

    private final ConcurrentHashMap<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    void record(String messageId) {
        counts.computeIfAbsent(messageId, id -> new AtomicInteger()).incrementAndGet();
        total.incrementAndGet();
    }

    int of(String messageId) {
        AtomicInteger count = counts.get(messageId);
        return count == null ? 0 : count.get();
    }

    /** How many distinct messages had an effect. */
    int distinct() {
        return counts.size();
    }

    /** How many effects happened in all (duplicates included). */
    int total() {
        return total.get();
    }

    /** Messages whose effect happened more than once, with their counts. */
    Map<String, Integer> repeated() {
        Map<String, Integer> out = new TreeMap<>();
        counts.forEach((id, count) -> {
            if (count.get() > 1) {
                out.put(id, count.get());
            }
        });
        return out;
    }
}
