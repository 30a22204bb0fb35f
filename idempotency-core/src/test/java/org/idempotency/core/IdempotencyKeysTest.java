package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IdempotencyKeysTest {

    @Test
    @DisplayName("valid keys pass unchanged, up to 255 UTF-8 bytes")
    void validKeys() {
        assertThat(IdempotencyKeys.validate("app-123:create-order:550e8400-e29b-41d4-a716-446655440000"))
                .startsWith("app-123");
        assertThat(IdempotencyKeys.validate("a".repeat(255))).hasSize(255);
        assertThat(IdempotencyKeys.validate("😀".repeat(63) + "abc")).isNotNull(); // 252 + 3 bytes
        assertThat(IdempotencyKeys.validate(" padded ")).isEqualTo(" padded ");
    }

    @Test
    @DisplayName("each rule is named in its error")
    void rules() {
        assertThatThrownBy(() -> IdempotencyKeys.validate("")).hasMessageContaining("must not be blank");
        assertThatThrownBy(() -> IdempotencyKeys.validate("\u3000 ")).hasMessageContaining("must not be blank");
        assertThatThrownBy(() -> IdempotencyKeys.validate("a".repeat(256)))
                .hasMessageContaining("at most 255 bytes").hasMessageContaining("256 bytes");
        assertThatThrownBy(() -> IdempotencyKeys.validate("😀".repeat(64))).hasMessageContaining("256 bytes");
        assertThatThrownBy(() -> IdempotencyKeys.validate("tab\there"))
                .hasMessageContaining("control characters").hasMessageContaining("U+0009 at index 3");
        assertThatThrownBy(() -> IdempotencyKeys.validate("c1\u0085")).hasMessageContaining("control characters");
        assertThatThrownBy(() -> IdempotencyKeys.validate("del\u007f")).hasMessageContaining("control characters");
        assertThatThrownBy(() -> IdempotencyKeys.validate("lone\uDC00")).hasMessageContaining("well-formed Unicode");
        assertThatThrownBy(() -> IdempotencyKeys.validate(null)).hasMessageContaining("must not be null");
        assertThatThrownBy(() -> IdempotencyKeys.validate(""))
                .isInstanceOfSatisfying(InvalidIdempotencyKeyException.class,
                        e -> assertThat(e.rule()).isEqualTo("the key must not be blank"));
    }

    @Test
    @DisplayName("operation names are restricted so stored keys are unambiguous")
    void operations() {
        assertThat(IdempotencyKeys.storedKey("create-order.v2_x", "k:1")).isEqualTo("create-order.v2_x:k:1");
        assertThatThrownBy(() -> IdempotencyKeys.validateOperation("a:b")).hasMessageContaining("may only contain");
        assertThatThrownBy(() -> IdempotencyKeys.validateOperation("")).hasMessageContaining("1 to 64");
        assertThatThrownBy(() -> IdempotencyKeys.validateOperation("x".repeat(65))).hasMessageContaining("1 to 64");
        // ("a", "b:c") and ("a:b", "c") cannot collide, because ':' is not allowed in operation names
        assertThat(IdempotencyKeys.storedKey("a", "b:c")).isEqualTo("a:b:c");
        assertThatThrownBy(() -> IdempotencyKeys.storedKey("a:b", "c")).isInstanceOf(InvalidIdempotencyKeyException.class);
    }

    @Test
    @DisplayName("derived keys are SHA-256 hex over length-prefixed parts, so shifted boundaries differ")
    void derive() {
        byte[] payload = "{\"product\":\"p1\",\"quantity\":2}".getBytes(StandardCharsets.UTF_8);
        String key = IdempotencyKeys.derive("user-1", "create-order", payload);

        assertThat(key).hasSize(64).matches("[0-9a-f]{64}");
        assertThat(IdempotencyKeys.derive("user-1", "create-order", payload)).isEqualTo(key);
        assertThat(IdempotencyKeys.derive("user-2", "create-order", payload)).isNotEqualTo(key);
        assertThat(IdempotencyKeys.derive("ab", "c", new byte[0])).isNotEqualTo(IdempotencyKeys.derive("a", "bc", new byte[0]));
        assertThat(IdempotencyKeys.validate(key)).isEqualTo(key);
    }

    @Test
    @DisplayName("derived keys keep lone surrogates apart from '?', and well-formed parts hash as before")
    void deriveIsInjectiveOnStrings() {
        byte[] payload = {1, 2};

        assertThat(IdempotencyKeys.derive("bo\ud800ok", "op", payload))
                .isNotEqualTo(IdempotencyKeys.derive("bo?ok", "op", payload));
        assertThat(IdempotencyKeys.derive("user", "op\udc00", payload))
                .isNotEqualTo(IdempotencyKeys.derive("user", "op?", payload));
        assertThat(IdempotencyKeys.derive("\u00fcser", "op", payload))
                .isEqualTo("cc4b674ad52af5d432a3671643f2a85b134e4734362258b0daa61c6a1fa27e78");
    }
}
