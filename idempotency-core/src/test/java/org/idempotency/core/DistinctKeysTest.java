package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DistinctKeysTest {

    @Test
    @DisplayName("answers as a HashSet does, for keys with close hashes, colliding hashes and random ones, past growth")
    void answersAsAHashSet() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            keys.add("msg-" + i); // consecutive hashes
        }
        keys.add("Aa"); // "Aa" and "BB" share a hash
        keys.add("BB");
        keys.add("");
        Random random = new Random(5);
        for (int i = 0; i < 5_000; i++) {
            keys.add(Integer.toString(random.nextInt(3_000), 36)); // repeats among them
        }
        DistinctKeys set = new DistinctKeys(4); // grows many times
        Set<String> reference = new HashSet<>();
        for (String key : keys) {
            assertThat(set.add(key)).as(key).isEqualTo(reference.add(key));
        }
        for (String key : reference) {
            assertThat(set.add(key)).as("already in: %s", key).isFalse();
        }
        assertThat(set.add("not-yet")).isTrue();
    }

    @Test
    @DisplayName("firstRepeated names the first key an earlier item has, or null when all are distinct")
    void firstRepeated() {
        Function<String, String> self = key -> key;
        assertThat(DistinctKeys.firstRepeated(List.of(), self)).isNull();
        assertThat(DistinctKeys.firstRepeated(List.of("a"), self)).isNull();
        assertThat(DistinctKeys.firstRepeated(List.of("a", "b", "c"), self)).isNull();
        assertThat(DistinctKeys.firstRepeated(List.of("a", "b", "c", "b", "a"), self)).isEqualTo("b");
        assertThat(DistinctKeys.firstRepeated(List.of("Aa", "BB", "Aa"), self)).isEqualTo("Aa");
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            many.add("key-" + i);
        }
        assertThat(DistinctKeys.firstRepeated(many, self)).isNull();
        many.add("key-99999");
        assertThat(DistinctKeys.firstRepeated(many, self)).isEqualTo("key-99999");
    }
}
