package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RequestHashesTest {

    @Test
    @DisplayName("SHA-256 known vectors")
    void sha256KnownVectors() {
        assertThat(RequestHashes.sha256("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(RequestHashes.sha256(new byte[0]))
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    @Test
    @DisplayName("every byte value of the digest is written as its two hex digits, from any number of threads")
    void hexOfEveryByteFromManyThreads() throws Exception {
        MessageDigest reference = RequestHashes.newSha256();
        Random random = new Random(17);
        List<byte[]> inputs = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            byte[] input = new byte[random.nextInt(300)];
            random.nextBytes(input);
            inputs.add(input);
        }
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                results.add(threads.submit(() -> inputs.stream().map(RequestHashes::sha256).toList()));
            }
            for (Future<List<String>> result : results) {
                List<String> hashes = result.get();
                for (int i = 0; i < inputs.size(); i++) {
                    assertThat(hashes.get(i)).isEqualTo(HexFormat.of().formatHex(reference.digest(inputs.get(i))));
                }
            }
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    @DisplayName("hex writes every byte value as its two lowercase digits, at every length (four at a time and the rest)")
    void hexOfEveryLengthAndValue() {
        byte[] everyValue = new byte[256];
        for (int i = 0; i < 256; i++) {
            everyValue[i] = (byte) i;
        }
        assertThat(RequestHashes.hex(everyValue)).isEqualTo(HexFormat.of().formatHex(everyValue));
        Random random = new Random(23);
        for (int length = 0; length <= 41; length++) {
            byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            assertThat(RequestHashes.hex(bytes)).as("length %d", length).isEqualTo(HexFormat.of().formatHex(bytes));
        }
        for (int value : new int[] {0, -1, 0x01234567, 0x89ABCDEF, 0xA0B0C0D0, 0x0F0F0F0F, 0xF0F0F0F0}) {
            String expected = String.format("%08x", value);
            long digits = RequestHashes.hexDigits(value);
            byte[] written = new byte[8];
            for (int i = 0; i < 8; i++) {
                written[i] = (byte) (digits >>> (56 - 8 * i));
            }
            assertThat(new String(written, StandardCharsets.ISO_8859_1)).isEqualTo(expected);
        }
    }

    @Test
    @DisplayName("a well-formed string hashes as its UTF-8 bytes, as before")
    void wellFormedStringsAreUtf8() {
        String text = "é ✓ 😀";

        assertThat(RequestHashes.sha256(text)).isEqualTo(RequestHashes.sha256(text.getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("5380d02f72675691543cc394c1aa619532ecafa2289edb8eee42bfedd31a1a40");
        assertThat(RequestHashes.wtf8(text)).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("a lone surrogate hashes apart from '?', U+FFFD and the other surrogates")
    void loneSurrogatesAreDistinct() {
        assertThat(RequestHashes.sha256("bo\ud800ok")).isNotEqualTo(RequestHashes.sha256("bo?ok"))
                .isNotEqualTo(RequestHashes.sha256("bo\ufffdok"))
                .isNotEqualTo(RequestHashes.sha256("bo\udc00ok"))
                .isNotEqualTo(RequestHashes.sha256("bo\ud801ok"));
        assertThat(RequestHashes.sha256("\ud83d")).isNotEqualTo(RequestHashes.sha256("\ude00"));
        assertThat(RequestHashes.sha256("\ude00\ud83d")).as("reversed, not a pair")
                .isNotEqualTo(RequestHashes.sha256("\ud83d\ude00"));
    }

    @Test
    @DisplayName("WTF-8 writes a lone surrogate as its own three bytes, and a pair as one four-byte character")
    void wtf8() {
        assertThat(RequestHashes.wtf8("\ud800")).containsExactly(0xED, 0xA0, 0x80);
        assertThat(RequestHashes.wtf8("a\udfffb")).containsExactly('a', 0xED, 0xBF, 0xBF, 'b');
        assertThat(RequestHashes.wtf8("\ud83d\ude00")).containsExactly(0xF0, 0x9F, 0x98, 0x80);
        assertThat(RequestHashes.wtf8("\ude00\ud83d")).containsExactly(0xED, 0xB8, 0x80, 0xED, 0xA0, 0xBD);
        assertThat(RequestHashes.wtf8("")).isEmpty();
    }
}
