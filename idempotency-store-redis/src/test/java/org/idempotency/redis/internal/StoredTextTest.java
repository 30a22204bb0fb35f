package org.idempotency.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class StoredTextTest {

    /** Strings that UTF-8 or a database text type cannot hold as they are, and their neighbours. */
    static final List<String> AWKWARD = List.of("", "?", "a", "\u0000", "\u0000\u0000", "a\u0000b", "\uD800", "\uDC00",
            "\uDC00\uD800", "x\uD83D", "\uD83Dx", "\uD83D\uDE00", "😀\uD800", "\u0001", "\u0001a", "a\u0001",
            "\u00010000", "\u0001\u0001", "\u0002", "\\u0000", "%00", "\uFFFD", "é", "\u0001d800", "\u0001\uD800");

    @Test
    @DisplayName("reads back every string equal, and keeps usual text as it is")
    void roundTrip() {
        for (String text : AWKWARD) {
            String stored = StoredText.encode(text);
            assertThat(StoredText.decode(stored)).as(text).isEqualTo(text);
            assertThat(new String(stored.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).as("UTF-8 holds it")
                    .isEqualTo(stored);
            assertThat(stored).as("no U+0000").doesNotContain("\u0000");
        }
        for (String usual : List.of("", "a", "sha256:0f3c", "é😀", "a\u0001b", "\\u0000", "\uFFFD")) {
            assertThat(StoredText.encode(usual)).isSameAs(usual);
        }
        assertThat(StoredText.encode(null)).isNull();
        assertThat(StoredText.decode(null)).isNull();
    }

    @Test
    @DisplayName("gives different strings different stored forms")
    void injective() {
        Map<String, String> seen = new HashMap<>();
        for (String text : AWKWARD) {
            assertThat(seen.put(StoredText.encode(text), text)).as(text).isNull();
        }
        assertThat(StoredText.encode("\uD800")).isNotEqualTo(StoredText.encode("?"));
    }

    @Test
    @DisplayName("refuses a stored form with a broken escape")
    void broken() {
        assertThatThrownBy(() -> StoredText.decode("\u0001\u0001d8")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StoredText.decode("\u0001\u0001zzzz")).isInstanceOf(IllegalArgumentException.class);
    }
}
