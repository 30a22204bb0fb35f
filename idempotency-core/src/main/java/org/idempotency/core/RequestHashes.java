package org.idempotency.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Request hashes: SHA-256 in lowercase hex. Pass the result as the {@code requestHash} of an execution so a
 * key reused with a different request is refused. For JSON bodies whose formatting may vary, see
 * {@link JsonFingerprint}.
 *
 * <p>Hashing is injective on its input: two different strings never hash alike by construction. A string is
 * hashed as its {@linkplain #wtf8(String) WTF-8} bytes, which are its UTF-8 bytes whenever it is well-formed
 * Unicode, and which keep a lone surrogate apart from {@code '?'} (what {@link String#getBytes} would write for
 * it) and from every other character.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestHashes {

    /** The two lowercase hex digits of every byte value, high digit in the high byte. */
    private static final short[] HEX_PAIRS = new short[256];
    /** One digest per thread, with the buffer its hash is written to: {@code digest} leaves it reset. */
    private static final ThreadLocal<Sha256> DIGEST = ThreadLocal.withInitial(Sha256::new);
    private static final VarHandle BIG_ENDIAN_INTS = MethodHandles.byteArrayViewVarHandle(int[].class,
            ByteOrder.BIG_ENDIAN);
    private static final VarHandle BIG_ENDIAN_LONGS = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.BIG_ENDIAN);
    private static final int SHA256_BYTES = 32;

    /** A thread's SHA-256 digest and the buffer it writes its hash to. */
    private static final class Sha256 {
        final MessageDigest digest = newSha256();
        final byte[] hash = new byte[SHA256_BYTES];
    }

    static {
        byte[] digits = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 256; i++) {
            HEX_PAIRS[i] = (short) (digits[i >> 4] << 8 | digits[i & 0xf]);
        }
    }

    private RequestHashes() {
    }

    /**
     * SHA-256 of the bytes.
     *
     * @param bytes the bytes to hash
     * @return 64 lowercase hex characters
     */
    public static String sha256(byte[] bytes) {
        Sha256 sha256 = DIGEST.get();
        sha256.digest.update(bytes);
        try {
            sha256.digest.digest(sha256.hash, 0, SHA256_BYTES);
        } catch (DigestException e) {
            throw new IllegalStateException("a SHA-256 hash is " + SHA256_BYTES + " bytes", e);
        }
        return hex(sha256.hash);
    }

    /**
     * SHA-256 of the string's {@linkplain #wtf8(String) WTF-8} bytes: its UTF-8 bytes when it is well-formed
     * Unicode, so such strings hash as they always did.
     *
     * @param text the string to hash
     * @return 64 lowercase hex characters
     */
    public static String sha256(String text) {
        return sha256(wtf8(text));
    }

    /**
     * The string's bytes in WTF-8 ("wobbly" UTF-8, as specified at {@code simonsapin.github.io/wtf-8}): a
     * surrogate pair is one four-byte character and every other character its UTF-8 form, as in UTF-8; a lone
     * surrogate, which UTF-8 cannot encode, is written as its own three-byte sequence ({@code ED A0 80} to
     * {@code ED BF BF}). For a well-formed string this is exactly UTF-8; for any two different strings the
     * bytes differ, so hashes of them do too.
     *
     * @param text the string to encode
     * @return a new array holding its WTF-8 bytes
     */
    public static byte[] wtf8(String text) {
        int length = text.length();
        int firstLone = firstLoneSurrogate(text);
        if (firstLone < 0) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        byte[] head = text.substring(0, firstLone).getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + 3 * (length - firstLone)]; // at most 3 bytes per remaining char
        System.arraycopy(head, 0, out, 0, head.length);
        int n = head.length;
        for (int i = firstLone; i < length; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                out[n++] = (byte) c;
            } else if (c < 0x800) {
                out[n++] = (byte) (0xC0 | (c >> 6));
                out[n++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < length
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, text.charAt(++i));
                out[n++] = (byte) (0xF0 | (cp >> 18));
                out[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                out[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                // any other BMP character, a lone surrogate included: three bytes
                out[n++] = (byte) (0xE0 | (c >> 12));
                out[n++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                out[n++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    /** The index of the first surrogate that is not half of a pair, or -1 if the string is well-formed. */
    static int firstLoneSurrogate(CharSequence text) {
        int length = text.length();
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return -1;
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    /** The bytes as lowercase hex, two digits a byte; four bytes at a time ({@link #hexDigits}). */
    static String hex(byte[] bytes) {
        int length = bytes.length;
        byte[] out = new byte[2 * length];
        int i = 0;
        for (; i + 4 <= length; i += 4) {
            BIG_ENDIAN_LONGS.set(out, 2 * i, hexDigits((int) BIG_ENDIAN_INTS.get(bytes, i)));
        }
        for (; i < length; i++) {
            short pair = HEX_PAIRS[bytes[i] & 0xff];
            out[2 * i] = (byte) (pair >> 8);
            out[2 * i + 1] = (byte) pair;
        }
        return new String(out, StandardCharsets.ISO_8859_1); // hex digits: one byte a character, copied as is
    }

    /**
     * The eight lowercase hex digits of an int, most significant first, as the eight bytes of a long (most
     * significant byte first): its nibbles spread one to a byte, then each turned into {@code '0'}-{@code '9'}
     * or {@code 'a'}-{@code 'f'} without a branch or a table.
     */
    static long hexDigits(int value) {
        long x = value & 0xFFFF_FFFFL;
        x = (x & 0xFFFF_0000L) << 16 | x & 0xFFFFL;
        x = (x & 0x0000_FF00_0000_FF00L) << 8 | x & 0x0000_00FF_0000_00FFL;
        x = (x & 0x00F0_00F0_00F0_00F0L) << 4 | x & 0x000F_000F_000F_000FL;
        // 1 in each byte whose nibble is 10 or more: adding 6 carries into the byte's bit 4 exactly then
        long letters = (x + 0x0606_0606_0606_0606L) >>> 4 & 0x0101_0101_0101_0101L;
        return x + 0x3030_3030_3030_3030L + letters * ('a' - '0' - 10);
    }
}
