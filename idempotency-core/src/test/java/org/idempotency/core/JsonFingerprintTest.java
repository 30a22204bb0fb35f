package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
    @DisplayName("malformed documents, several values and duplicate fields are refused as not JSON")
    void refused() {
        assertThatThrownBy(() -> fingerprint.hash("{\"a\":")).isInstanceOf(JsonFingerprint.NotJsonException.class)
                .hasMessageContaining("not a well-formed JSON document");
        assertThatThrownBy(() -> fingerprint.hash("{} {}")).isInstanceOf(JsonFingerprint.NotJsonException.class)
                .hasMessageContaining("more than one value");
        assertThatThrownBy(() -> fingerprint.hash("{\"a\":1,\"a\":2}"))
                .isInstanceOf(JsonFingerprint.NotJsonException.class).hasMessageContaining("Duplicate field");
        assertThatThrownBy(() -> fingerprint.hash("")).isInstanceOf(JsonFingerprint.NotJsonException.class);
        assertThatThrownBy(() -> fingerprint.hash(new byte[0])).isInstanceOf(JsonFingerprint.NotJsonException.class);
        assertThatThrownBy(() -> JsonFingerprint.builder().exclude("a..b")).hasMessageContaining("field path");
    }

    @Test
    @DisplayName("well-formed documents keep the canonical form and hash they had")
    void stableHashes() {
        String doc = "{\"b\": [1, 2.50, {\"y\": \"\u00e9 \u2713 \ud83d\ude00 \\u0001 \\\" \\\\ /\", \"x\": null}],"
                + " \"a\": true, \"n\": -12.5e3}";

        assertThat(fingerprint.canonicalize(doc))
                .isEqualTo("{\"a\":true,\"b\":[1,2.5,{\"x\":null,\"y\":\"\u00e9 \u2713 \ud83d\ude00 \\u0001 \\\" \\\\ /\"}],"
                        + "\"n\":-1.25E+4}");
        assertThat(fingerprint.hash(doc))
                .isEqualTo("3b35adc782f1441c3752722767a4265bb4a1ded52d29251b72eb06548fcc596d")
                .isEqualTo(fingerprint.hash(doc.getBytes(StandardCharsets.UTF_8)));
        assertThat(fingerprint.hash(("\ufeff" + doc).getBytes(StandardCharsets.UTF_8))).as("after a UTF-8 BOM")
                .isEqualTo(fingerprint.hash(doc));
    }

    @Test
    @DisplayName("a lone surrogate, escaped or raw, in a value or a name, hashes apart from '?' and U+FFFD or is refused")
    void loneSurrogates() {
        String escaped = "{\"product\":\"bo\\ud800ok\"}";
        String raw = "{\"product\":\"bo\ud800ok\"}";
        String question = "{\"product\":\"bo?ok\"}";
        String replacement = "{\"product\":\"bo\ufffdok\"}";

        assertThat(fingerprint.hash(escaped)).isEqualTo(fingerprint.hash(raw))
                .isEqualTo(fingerprint.hash(escaped.getBytes(StandardCharsets.UTF_8)))
                .isNotEqualTo(fingerprint.hash(question))
                .isNotEqualTo(fingerprint.hash(question.getBytes(StandardCharsets.UTF_8)))
                .isNotEqualTo(fingerprint.hash(replacement))
                .isNotEqualTo(fingerprint.hash("{\"product\":\"bo\\udc00ok\"}"));
        assertThat(fingerprint.hash("{\"k\ud800\":1}")).isNotEqualTo(fingerprint.hash("{\"k?\":1}"));
        assertThatThrownBy(() -> fingerprint.hash("{\"k\\ud800\":1}")).as("Jackson refuses it escaped in a name")
                .isInstanceOf(JsonFingerprint.NotJsonException.class);
        assertThat(fingerprint.canonicalize(escaped)).as("the canonical form escapes it, so it is well-formed text")
                .isEqualTo("{\"product\":\"bo\\ud800ok\"}");
        assertThat(fingerprint.canonicalize("[\"\\\\\\udfff\"]")).isEqualTo("[\"\\\\\\udfff\"]");
        assertThat(fingerprint.hash("[\"\\\\\\udfff\"]")).as("a backslash then a lone surrogate")
                .isNotEqualTo(fingerprint.hash("[\"\\\\udfff\"]"));
        assertThat(fingerprint.hash("[\"\\ud83d\\ude00\"]")).as("an escaped pair is the character")
                .isEqualTo(fingerprint.hash("[\"\ud83d\ude00\"]"));
    }

    @Test
    @DisplayName("bytes that are not UTF-8 (overlong, encoded surrogates, UTF-16) are not JSON to the fingerprint")
    void onlyUtf8() {
        byte[] overlong = {'[', '"', (byte) 0xC1, (byte) 0x81, '"', ']'};
        byte[] encodedSurrogate = {'[', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', ']'};
        byte[] utf16 = "[\"a\"]".getBytes(StandardCharsets.UTF_16);
        byte[] utf16OddLength = java.util.Arrays.copyOf(utf16, utf16.length + 1);

        for (byte[] bytes : new byte[][] {overlong, encodedSurrogate, utf16, utf16OddLength}) {
            assertThatThrownBy(() -> fingerprint.hash(bytes)).isInstanceOf(JsonFingerprint.NotJsonException.class)
                    .hasMessageContaining("UTF-8");
        }
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
        "{\"a\": 100e2147483647}",
        "[100e2147483647]",
        "100e2147483647",
        "{\"a\": {\"b\": [0, 1.5e2147483647]}}",
        "{\"a\": 1e2147483648}",
        "{\"a\": 1e-2147483648}",
        "{\"a\": 0.01e-2147483647}",
        "{\"a\": 1e99999999999}",
        "[1e100001]",
        "[1e-100001]",
        "[0.1e-100000]"
    })
    @DisplayName("a number with an exponent out of range is refused with an IllegalArgumentException naming the rule")
    void hugeExponents(String json) {
        Throwable refused = catchThrowable(() -> fingerprint.hash(json));

        assertThat(refused).isInstanceOf(IllegalArgumentException.class)
                .isNotInstanceOf(JsonFingerprint.NotJsonException.class)
                .hasMessageContaining("exponent");
        assertThat(catchThrowable(() -> fingerprint.hash(json.getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(IllegalArgumentException.class)
                .isNotInstanceOf(JsonFingerprint.NotJsonException.class);
    }

    @Test
    @DisplayName("numbers up to the exponent limit, and zero with any exponent, are canonical")
    void exponentLimit() {
        assertThat(fingerprint.canonicalize("[1e100000, 1e-100000, 12.5e99999, 0e2147483647, -0.0e-5]"))
                .isEqualTo("[1E+100000,1E-100000,1.25E+100000,0,0]");
        assertThat(fingerprint.hash("[1000e99997]")).isEqualTo(fingerprint.hash("[1e100000]"));
    }

    @Test
    @DisplayName("too deep a document, too long a number, an excluded hostile field: refused, never a crash")
    void otherLimits() {
        String deep = "[".repeat(1001) + "]".repeat(1001);
        String longNumber = "[1" + "0".repeat(1000) + "]";

        assertThat(catchThrowable(() -> fingerprint.hash(deep))).isInstanceOf(IllegalArgumentException.class)
                .isNotInstanceOf(JsonFingerprint.NotJsonException.class).hasMessageContaining("nesting depth");
        assertThat(catchThrowable(() -> fingerprint.hash(longNumber))).isInstanceOf(IllegalArgumentException.class)
                .isNotInstanceOf(JsonFingerprint.NotJsonException.class).hasMessageContaining("Number value length");
        assertThat(fingerprint.canonicalize("[".repeat(1000) + "]".repeat(1000))).startsWith("[[[");
        JsonFingerprint withoutNote = JsonFingerprint.builder().exclude("note").build();
        assertThat(catchThrowable(() -> withoutNote.hash("{\"a\":1,\"note\":100e2147483647}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exponent");
    }

    @Test
    @DisplayName("a field name with a dot is not the path through two objects")
    void dottedNames() {
        JsonFingerprint withoutTrace = JsonFingerprint.builder().exclude("meta.trace").build();
        JsonFingerprint onlyCustomerId = JsonFingerprint.builder().include("customer.id").build();

        assertThat(withoutTrace.hash("{\"meta.trace\":1}")).isNotEqualTo(withoutTrace.hash("{\"meta.trace\":2}"));
        assertThat(withoutTrace.hash("{\"meta\":{\"trace\":1}}")).isEqualTo(withoutTrace.hash("{\"meta\":{\"trace\":2}}"));
        assertThat(onlyCustomerId.canonicalize("{\"customer.id\":1,\"customer\":{\"id\":7,\"name\":\"A\"}}"))
                .isEqualTo("{\"customer\":{\"id\":7}}");
    }
}
