package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class JsonFingerprintTest {

    private final JsonFingerprint fingerprint = JsonFingerprint.defaults();

    @Test
    @DisplayName("key order, whitespace and escaping do not change the hash")
    void formattingIgnored() {
        String a = "{\"b\": [1, 2, {\"y\": \"é\", \"x\": null}], \"a\": true}";
        String b = "{\n  \"a\":true,\"b\":[1,2,{\"x\":null,\"y\":\"\\u00e9\"}]\n}";

        assertThat(fingerprint.hash(a)).isEqualTo(fingerprint.hash(b));
        assertThat(fingerprint.canonicalize(a)).isEqualTo("{\"a\":true,\"b\":[1,2,{\"x\":null,\"y\":\"é\"}]}");
    }

    @Test
    @DisplayName("numbers are compared by value")
    void numbers() {
        assertThat(fingerprint.hash("{\"n\":1}")).isEqualTo(fingerprint.hash("{\"n\":1.0}"))
                .isEqualTo(fingerprint.hash("{\"n\":1e0}")).isEqualTo(fingerprint.hash("{\"n\":10E-1}"));
        assertThat(fingerprint.hash("{\"n\":0}")).isEqualTo(fingerprint.hash("{\"n\":-0.0}"));
        assertThat(fingerprint.hash("{\"n\":1.5}")).isNotEqualTo(fingerprint.hash("{\"n\":1.50000000000000000001}"));
        assertThat(fingerprint.hash("{\"n\":1}")).isNotEqualTo(fingerprint.hash("{\"n\":\"1\"}"));
        assertThat(fingerprint.canonicalize("[1e400, 12345678901234567890123]"))
                .isEqualTo("[1E+400,12345678901234567890123]");
    }

    @Test
    @DisplayName("array order matters")
    void arrays() {
        assertThat(fingerprint.hash("[1,2]")).isNotEqualTo(fingerprint.hash("[2,1]"));
    }

    @Test
    @DisplayName("excluded fields are left out, at any depth and through arrays")
    void exclude() {
        JsonFingerprint withoutNoise = JsonFingerprint.builder().exclude("timestamp", "items.traceId").build();

        assertThat(withoutNoise.hash("{\"amount\":5,\"timestamp\":1,\"items\":[{\"sku\":\"a\",\"traceId\":\"x\"}]}"))
                .isEqualTo(withoutNoise.hash("{\"items\":[{\"traceId\":\"y\",\"sku\":\"a\"}],\"amount\":5,\"timestamp\":2}"));
        assertThat(withoutNoise.hash("{\"amount\":5}")).isNotEqualTo(withoutNoise.hash("{\"amount\":6}"));
    }

    @Test
    @DisplayName("included fields are the only ones kept")
    void include() {
        JsonFingerprint only = JsonFingerprint.builder().include("amount", "customer.id").build();

        assertThat(only.canonicalize("{\"amount\":5,\"note\":\"x\",\"customer\":{\"id\":7,\"name\":\"A\"}}"))
                .isEqualTo("{\"amount\":5,\"customer\":{\"id\":7}}");
    }

    @Test
    @DisplayName("malformed documents, several values and duplicate fields are refused")
    void refused() {
        assertThatThrownBy(() -> fingerprint.hash("{\"a\":")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a well-formed JSON document");
        assertThatThrownBy(() -> fingerprint.hash("{} {}")).hasMessageContaining("more than one value");
        assertThatThrownBy(() -> fingerprint.hash("{\"a\":1,\"a\":2}")).hasMessageContaining("Duplicate field");
        assertThatThrownBy(() -> fingerprint.hash("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JsonFingerprint.builder().exclude("a..b")).hasMessageContaining("field path");
    }
}
