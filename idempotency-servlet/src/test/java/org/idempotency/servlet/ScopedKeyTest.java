package org.idempotency.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.idempotency.core.IdempotencyKeys;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How a client key and its scope become one key of the core. */
class ScopedKeyTest {

    @Test
    @DisplayName("a short key stays readable after the scope's digest")
    void shortKey() {
        String scoped = IdempotencyFilter.scopedKey("scope", "order-1");

        assertThat(scoped).hasSize(43 + 1 + "order-1".length()).endsWith(":order-1");
        assertThat(IdempotencyKeys.validate(scoped)).isEqualTo(scoped);
    }

    @Test
    @DisplayName("a key too long to fit beside the digest is hashed, and still valid for the core")
    void longKey() {
        String longest = "k".repeat(1024);
        String scoped = IdempotencyFilter.scopedKey("a scope of any length ".repeat(100), longest);

        assertThat(scoped.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(IdempotencyKeys.MAX_KEY_BYTES);
        assertThat(scoped.charAt(43)).isEqualTo('#');
        assertThat(IdempotencyKeys.validate(scoped)).isEqualTo(scoped);
        assertThat(IdempotencyFilter.scopedKey("s", "k".repeat(211))).contains(":");
        assertThat(IdempotencyFilter.scopedKey("s", "k".repeat(212))).contains("#");
    }

    @Test
    @DisplayName("different scopes or keys never give the same stored key")
    void distinct() {
        assertThat(IdempotencyFilter.scopedKey("alice", "k")).isNotEqualTo(IdempotencyFilter.scopedKey("bob", "k"));
        assertThat(IdempotencyFilter.scopedKey("alice", "k1")).isNotEqualTo(IdempotencyFilter.scopedKey("alice", "k2"));
        assertThat(IdempotencyFilter.scopedKey("s", "k".repeat(300)))
                .isNotEqualTo(IdempotencyFilter.scopedKey("s", "k".repeat(301)));
    }

    @Test
    @DisplayName("scopes that differ only by a lone surrogate where the other has '?' stay apart; others keep their key")
    void loneSurrogates() {
        assertThat(IdempotencyFilter.scopedKey("client:t\ud800", "k"))
                .isNotEqualTo(IdempotencyFilter.scopedKey("client:t?", "k"))
                .isNotEqualTo(IdempotencyFilter.scopedKey("client:t\udc00", "k"));
        assertThat(IdempotencyFilter.scopedKey("client:\u00e9", "k"))
                .isEqualTo("wJ4vH0DgdwLuZhf8-nKCEkd7qxskEyuCTXXCBPS2VX4:k");
    }
}
