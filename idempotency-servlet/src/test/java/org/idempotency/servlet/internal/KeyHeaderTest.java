package org.idempotency.servlet.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The header grammar: the draft's sf-string and a bare token. */
class KeyHeaderTest {

    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        "\"8e03978e-40d5-43e8-bc93-6894a57f9324\" | 8e03978e-40d5-43e8-bc93-6894a57f9324",
        "8e03978e-40d5-43e8-bc93-6894a57f9324     | 8e03978e-40d5-43e8-bc93-6894a57f9324",
        "'  \"padded\"  '                         | padded",
        "\"with spaces and ;,=\"                  | with spaces and ;,=",
        "\"esc \\\"q\\\" \\\\\"                   | esc \"q\" \\",
        "KG5LxwFBepaKHyUD+/=:_-.~!#$%&*^`         | KG5LxwFBepaKHyUD+/=:_-.~!#$%&*^`"
    })
    @DisplayName("accepts a quoted sf-string (unescaped) or a bare token")
    void accepts(String header, String key) throws Exception {
        assertThat(KeyHeader.parse(header, 255)).isEqualTo(key);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        "''                  | the header must not be empty",
        "'   '               | the header must not be empty",
        "\"\"                | the key must not be empty",
        "\"  \"              | the key must not consist of spaces only",
        "\"open              | no closing double quote",
        "\"open\\            | ends with a backslash",
        "close\"             | unbalanced",
        "\"a\"b              | nothing may follow the closing double quote",
        "\"a\";p=1           | parameters are not accepted",
        "'\"a\", \"b\"'       | one key, not a list",
        "a;p=1               | parameters are not accepted",
        "a,b                 | one key, not a list",
        "\"a\\nb\"           | may only escape",
        "a\\b                | an unquoted key may only contain visible ASCII",
        "'a b'               | an unquoted key may only contain visible ASCII",
        "\"é\"               | printable ASCII characters (0x20 to 0x7E), found U+00E9 at position 1",
        "é                   | found U+00E9 at position 0"
    })
    @DisplayName("refuses malformed values, naming the rule")
    void refuses(String header, String rule) {
        assertThatThrownBy(() -> KeyHeader.parse(header, 255))
                .isInstanceOf(KeyHeader.MalformedKey.class)
                .hasMessageContaining(rule);
    }

    @Test
    @DisplayName("refuses control characters inside quotes")
    void controls() {
        assertThatThrownBy(() -> KeyHeader.parse("\"a\u0001b\"", 255)).hasMessageContaining("U+0001");
        assertThatThrownBy(() -> KeyHeader.parse("\"a\tb\"", 255)).hasMessageContaining("U+0009");
        assertThatThrownBy(() -> KeyHeader.parse("a\u007fb", 255)).hasMessageContaining("U+007F");
    }

    @Test
    @DisplayName("counts the length of the unescaped key against the limit")
    void length() throws Exception {
        assertThat(KeyHeader.parse("\"" + "k".repeat(10) + "\"", 10)).hasSize(10);
        assertThat(KeyHeader.parse("k".repeat(10), 10)).hasSize(10);
        assertThat(KeyHeader.parse("\"" + "\\\"".repeat(10) + "\"", 10)).isEqualTo("\"".repeat(10));
        assertThatThrownBy(() -> KeyHeader.parse("k".repeat(11), 10)).hasMessageContaining("at most 10 characters");
        assertThatThrownBy(() -> KeyHeader.parse("\"" + "k".repeat(11) + "\"", 10))
                .hasMessageContaining("at most 10 characters");
    }
}
