package org.idempotency.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.idempotency.api.StoredFailure;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The field encoders against the format's definition: the length in decimal, a colon, the bytes. */
class RecordFormatTest {

    private static final List<Long> NUMBERS = numbers();

    /** Every length of decimal number, each power of ten and its neighbours, and the extremes. */
    private static List<Long> numbers() {
        List<Long> numbers = new ArrayList<>(List.of(0L, 1L, 7L, 42L, 1_795_716_968_808_223L, Long.MAX_VALUE,
                Long.MAX_VALUE - 1));
        long power = 1;
        for (int exponent = 0; exponent <= 18; exponent++, power *= 10) {
            numbers.add(power - 1);
            numbers.add(power);
            numbers.add(power + 1);
        }
        return List.copyOf(numbers);
    }

    /** The definition, written plainly. */
    private static byte[] reference(byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(Integer.toString(value.length).getBytes(StandardCharsets.US_ASCII));
        out.write(':');
        out.writeBytes(value);
        return out.toByteArray();
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    @DisplayName("a number field is the number's decimal digits with their length, for every length of number")
    void numbers_() {
        for (long n : NUMBERS) {
            assertThat(RecordFormat.field(n)).as("%d", n).isEqualTo(reference(ascii(Long.toString(n))));
        }
        for (long n : List.of(-1L, -10L, -1_000_000_007L, Long.MIN_VALUE)) {
            assertThat(RecordFormat.field(n)).as("%d", n).isEqualTo(reference(ascii(Long.toString(n))));
        }
    }

    @Test
    @DisplayName("a byte field holds its bytes after their length, for lengths of one to five digits")
    void bytes() {
        for (int length : new int[] {0, 1, 9, 10, 11, 99, 100, 101, 999, 1_000, 12_345, 100_000}) {
            byte[] value = new byte[length];
            for (int i = 0; i < length; i++) {
                value[i] = (byte) (i * 31);
            }
            assertThat(RecordFormat.field(value)).as("length %d", length).isEqualTo(reference(value));
        }
    }

    @Test
    @DisplayName("a call id field is the prefix and the counter in decimal, as one field")
    void prefixAndCounter() {
        byte[] prefix = ascii("0123456789abcdef0123456789abcdef-");
        for (long counter : NUMBERS) {
            byte[] joined = ascii(new String(prefix, StandardCharsets.US_ASCII) + counter);
            assertThat(RecordFormat.field(prefix, counter)).as("%d", counter).isEqualTo(reference(joined));
        }
        assertThat(RecordFormat.field(new byte[0], 5)).isEqualTo(ascii("1:5"));
        assertThat(RecordFormat.field(new byte[8], 123_456_789L)).isEqualTo(reference(
                ascii("\0\0\0\0\0\0\0\0" + 123_456_789L)));
        assertThatThrownBy(() -> RecordFormat.field(prefix, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("counter must not be negative, was -1");
    }

    @Test
    @DisplayName("a text field holds the UTF-8 of the text's stored form, ASCII or not, and absent for null")
    void text() {
        List<String> texts = new ArrayList<>(StoredTextTest.AWKWARD);
        texts.addAll(List.of("5d41402abc4b2a76b9719d911017c592ae4f1a5b0c4c6f5c7e2b1f9a3c2d1e0f", "sha256:0f3c",
                "\u007F", "\u0080", "x".repeat(10), "x".repeat(1_000), "a\u0001b", "\u0001"));
        for (String text : texts) {
            assertThat(RecordFormat.field(text)).as(text)
                    .isEqualTo(reference(StoredText.encode(text).getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(RecordFormat.field((String) null)).isSameAs(RecordFormat.ABSENT);
    }

    @Test
    @DisplayName("the completion tail is no takeover, the code or absent, two absent error fields, the payload or absent")
    void completionTail() {
        byte[] payload = ascii("{\"id\":\"ord-1\"}");
        assertThat(RecordFormat.completionTail(0, payload)).isEqualTo(ascii("----14:{\"id\":\"ord-1\"}"));
        assertThat(RecordFormat.completionTail(0, null)).isEqualTo(ascii("-----"));
        assertThat(RecordFormat.completionTail(201, new byte[0])).isEqualTo(ascii("-3:201--0:"));
        assertThat(RecordFormat.completionTail(-1, null)).isEqualTo(ascii("-2:-1---"));
        byte[] large = new byte[1 << 20];
        large[large.length - 1] = 7;
        byte[] tail = RecordFormat.completionTail(0, large);
        byte[] expected = new byte[4 + 8 + large.length];
        System.arraycopy(ascii("----1048576:"), 0, expected, 0, 12);
        System.arraycopy(large, 0, expected, 12, large.length);
        assertThat(tail).isEqualTo(expected);
    }

    @Test
    @DisplayName("a completed record written with the tail reads back with its code and payload")
    void roundTrip() {
        byte[] payload = ascii("{\"ok\":true}");
        byte[] value = concat(ascii("C"), RecordFormat.field(17L), RecordFormat.field(1_000L),
                RecordFormat.ABSENT, RecordFormat.field(60_000L), RecordFormat.field("h1"),
                RecordFormat.field(ascii("id-"), 3), RecordFormat.completionTail(201, payload));
        var record = RecordFormat.record("op:k", value);
        assertThat(record.fencingToken()).isEqualTo(17);
        assertThat(record.requestHash()).isEqualTo("h1");
        assertThat(record.result().statusCode()).isEqualTo(201);
        assertThat(record.result().payload()).isEqualTo(payload);
    }

    @Test
    @DisplayName("the script arguments are their fields joined, as the separate encoders write them")
    void scriptArguments() {
        byte[] lease = concat(RecordFormat.field(30_000L), RecordFormat.field(60_000L));
        byte[] prefix = ascii("0123abcd-");
        for (String hash : new String[] {null, "", "h1", "\u00e9t\u00e9", "a\u0000b", "\u0001x", "\ud800"}) {
            for (long call : new long[] {0, 9, 10, 123_456_789_012L, Long.MAX_VALUE}) {
                assertThat(RecordFormat.acquireArgument(lease, hash, prefix, call)).as("%s %d", hash, call)
                        .isEqualTo(concat(lease, RecordFormat.field(hash), RecordFormat.field(prefix, call)));
            }
        }
        byte[] keep = RecordFormat.field(86_400_000L);
        byte[] payload = ascii("{\"id\":\"ord-1\"}");
        for (long token : new long[] {1, 1_795_716_968_808_223L, -5, Long.MIN_VALUE}) {
            for (int code : new int[] {0, 201, -1}) {
                for (byte[] body : new byte[][] {null, new byte[0], payload}) {
                    assertThat(RecordFormat.completionArgument(token, keep, prefix, 77, code, body))
                            .as("%d %d %s", token, code, body == null ? null : body.length)
                            .isEqualTo(concat(RecordFormat.field(token), keep, RecordFormat.field(prefix, 77),
                                    RecordFormat.completionTail(code, body)));
                }
            }
        }
        for (String message : new String[] {null, "", "boom \u00e9", "a\u0000b"}) {
            assertThat(RecordFormat.failureArgument(42, keep, prefix, 3,
                    new StoredFailure("java.lang.IllegalStateException", message)))
                    .as(message)
                    .isEqualTo(concat(RecordFormat.field(42L), keep, RecordFormat.field(prefix, 3), ascii("--"),
                            RecordFormat.field("java.lang.IllegalStateException"), RecordFormat.field(message),
                            ascii("-")));
        }
        assertThatThrownBy(() -> RecordFormat.acquireArgument(lease, "h", prefix, -1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
