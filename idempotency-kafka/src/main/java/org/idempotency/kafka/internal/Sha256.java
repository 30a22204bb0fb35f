package org.idempotency.kafka.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 in lowercase hex, the same text as {@code RequestHashes.sha256} gives, without looking the algorithm
 * up for every record: one digest per thread, reused. Thread-safe.
 */
public final class Sha256 {

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    });

    private Sha256() {
    }

    /** SHA-256 of the bytes, as 64 lowercase hex characters. */
    public static String hex(byte[] bytes) {
        MessageDigest digest = DIGEST.get(); // digest() leaves it reset
        return hexOf(digest.digest(bytes));
    }

    /** SHA-256 of the buffer's remaining bytes (its position is not moved), as 64 lowercase hex characters. */
    public static String hex(ByteBuffer bytes) {
        MessageDigest digest = DIGEST.get();
        digest.update(bytes.duplicate());
        return hexOf(digest.digest());
    }

    private static String hexOf(byte[] hash) {
        byte[] out = new byte[hash.length * 2];
        for (int i = 0; i < hash.length; i++) {
            out[2 * i] = HEX[(hash[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX[hash[i] & 0xf];
        }
        return new String(out, StandardCharsets.US_ASCII);
    }
}
