package org.idempotency.core;

import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A set of keys for the one question a batch asks of its keys: has this one been seen already? An open-addressing
 * table of the keys themselves, at most half full: no entry object per key and no rehashing of a table sized for
 * its batch, which a {@link java.util.HashSet} costs on every record of a batch-claiming consumer.
 *
 * <p>Not thread-safe: one caller fills it.
 */
final class DistinctKeys {

    private String[] table;
    private int size;

    /** A set sized for {@code expected} keys; it grows if more are added. */
    DistinctKeys(int expected) {
        table = new String[capacityFor(expected)];
    }

    /**
     * The first key of {@code items} that an earlier item has already, or {@code null} if they are all distinct.
     *
     * @param key the key of an item, not {@code null}
     */
    static <R> @Nullable String firstRepeated(List<R> items, Function<? super R, String> key) {
        int size = items.size();
        if (size < 2) {
            return null;
        }
        DistinctKeys seen = new DistinctKeys(size);
        for (int i = 0; i < size; i++) {
            String each = key.apply(items.get(i));
            if (!seen.add(each)) {
                return each;
            }
        }
        return null;
    }

    /**
     * Adds the key.
     *
     * @return {@code true} if it was not in the set, {@code false} if it was (the set is unchanged)
     */
    boolean add(String key) {
        if (2 * (size + 1) > table.length) {
            grow();
        }
        String[] slots = table;
        int mask = slots.length - 1;
        int hash = key.hashCode();
        for (int i = slot(hash, mask); ; i = (i + 1) & mask) {
            String present = slots[i];
            if (present == null) {
                slots[i] = key;
                size++;
                return true;
            }
            // the cached hashes first: keys of one batch share long prefixes, which equals would compare
            if (present.hashCode() == hash && present.equals(key)) {
                return false;
            }
        }
    }

    private void grow() {
        String[] old = table;
        String[] slots = new String[old.length * 2];
        int mask = slots.length - 1;
        for (String key : old) {
            if (key != null) {
                int i = slot(key.hashCode(), mask);
                while (slots[i] != null) {
                    i = (i + 1) & mask;
                }
                slots[i] = key;
            }
        }
        table = slots;
    }

    /**
     * The first slot for a key's hash: the hash multiplied by the golden ratio, top bits taken (Fibonacci
     * hashing), so that keys with close hashes, such as {@code msg-1}, {@code msg-2}, spread instead of forming
     * runs that linear probing would walk.
     */
    private static int slot(int hash, int mask) {
        return hash * 0x9E3779B9 >>> Integer.numberOfLeadingZeros(mask);
    }

    /** A power of two at least twice {@code expected}, and at least 8. */
    private static int capacityFor(int expected) {
        int wanted = Math.max(8, 2 * Math.max(expected, 1));
        return wanted > (1 << 30) ? 1 << 30 : Integer.highestOneBit(wanted - 1) << 1;
    }
}
