package org.idempotency.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Request hashes: SHA-256 in lowercase hex. Pass the result as the {@code requestHash} of an execution so a
 * key reused with a different request is refused. For JSON bodies whose formatting may vary, see
 * {@link JsonFingerprint}.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestHashes {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestHashes() {
    }

    /** SHA-256 of the bytes, as 64 lowercase hex characters. */
    public static String sha256(byte[] bytes) {
        return hex(newSha256().digest(bytes));
    }

    /** SHA-256 of the string's UTF-8 bytes, as 64 lowercase hex characters. */
    public static String sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX[bytes[i] & 0xf];
        }
        return new String(out);
    }
}
