package org.idempotency.core;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import org.idempotency.api.InvalidIdempotencyKeyException;

/**
 * Key rules and server-side key derivation.
 *
 * <p>A key is valid when it is not blank, takes at most {@value #MAX_KEY_BYTES} bytes in UTF-8, contains no
 * control characters and is well-formed Unicode (no lone surrogates, which would encode ambiguously). An
 * operation name is 1 to {@value #MAX_OPERATION_LENGTH} characters of {@code A-Z a-z 0-9 . _ -}; because it
 * cannot contain {@code ':'}, the stored key {@code operation + ":" + key} is unambiguous.
 *
 * <p>Stateless and thread-safe.
 */
public final class IdempotencyKeys {

    /** The longest key, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = 255;
    /** The longest operation name, in characters. */
    public static final int MAX_OPERATION_LENGTH = 64;

    private IdempotencyKeys() {
    }

    /**
     * Checks a key against the rules.
     *
     * @param key the key to check
     * @return the key, unchanged
     * @throws InvalidIdempotencyKeyException naming the broken rule
     */
    public static String validate(String key) {
        if (key == null) {
            throw new InvalidIdempotencyKeyException("the key must not be null", "got null");
        }
        int bytes = 0;
        boolean blank = true;
        int length = key.length();
        for (int i = 0; i < length; i++) {
            char c = key.charAt(i);
            if (c < 0x80) {
                if (c < 0x20 || c == 0x7f) {
                    throw new InvalidIdempotencyKeyException("the key must not contain control characters",
                            String.format("U+%04X at index %d", (int) c, i));
                }
                if (c != ' ') {
                    blank = false;
                }
                bytes += 1;
            } else if (c < 0x800) {
                if (Character.isISOControl(c)) {
                    throw new InvalidIdempotencyKeyException("the key must not contain control characters",
                            String.format("U+%04X at index %d", (int) c, i));
                }
                blank &= Character.isWhitespace(c) || Character.isSpaceChar(c);
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                if (i + 1 >= length || !Character.isLowSurrogate(key.charAt(i + 1))) {
                    throw new InvalidIdempotencyKeyException("the key must be well-formed Unicode",
                            "lone surrogate at index " + i);
                }
                blank = false;
                bytes += 4;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                throw new InvalidIdempotencyKeyException("the key must be well-formed Unicode",
                        "lone surrogate at index " + i);
            } else {
                blank &= Character.isWhitespace(c) || Character.isSpaceChar(c);
                bytes += 3;
            }
        }
        if (blank) {
            throw new InvalidIdempotencyKeyException("the key must not be blank",
                    length == 0 ? "got an empty string" : "got " + length + " whitespace characters");
        }
        if (bytes > MAX_KEY_BYTES) {
            throw new InvalidIdempotencyKeyException("the key must be at most " + MAX_KEY_BYTES + " bytes in UTF-8",
                    "got " + bytes + " bytes");
        }
        return key;
    }

    /**
     * Checks an operation name: 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}.
     *
     * @param operation the name to check
     * @return the name, unchanged
     * @throws InvalidIdempotencyKeyException naming the broken rule
     */
    public static String validateOperation(String operation) {
        if (operation == null || operation.isEmpty() || operation.length() > MAX_OPERATION_LENGTH) {
            throw new InvalidIdempotencyKeyException(
                    "an operation name must be 1 to " + MAX_OPERATION_LENGTH + " characters",
                    operation == null ? "got null" : "got " + operation.length() + " characters");
        }
        for (int i = 0; i < operation.length(); i++) {
            char c = operation.charAt(i);
            boolean allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
            if (!allowed) {
                throw new InvalidIdempotencyKeyException(
                        "an operation name may only contain A-Z, a-z, 0-9, '.', '_' and '-'",
                        "got '" + (Character.isISOControl(c) ? "?" : String.valueOf(c)) + "' at index " + i
                                + " of '" + operation.replaceAll("\\p{Cntrl}", "?") + "'");
            }
        }
        return operation;
    }

    /**
     * The stored key for an operation and a key: {@code operation + ":" + key}. Both are validated; two
     * different (operation, key) pairs never give the same stored key.
     *
     * @param operation the operation name (validated like {@link #validateOperation})
     * @param key the caller's idempotency key (validated like {@link #validate})
     * @return the stored key, {@code operation:key}
     */
    public static String storedKey(String operation, String key) {
        return validateOperation(operation) + ':' + validate(key);
    }

    /**
     * Derives a key on the server from who asks, what for, and with which payload, for clients that send no
     * key: SHA-256 over the three parts, each preceded by its length so that no two different triples hash
     * alike ({@code "ab" + "c"} differs from {@code "a" + "bc"}). The strings are hashed as their
     * {@linkplain RequestHashes#wtf8(String) WTF-8} bytes (UTF-8 for well-formed text), so two different user
     * ids never give the same key, lone surrogates included.
     *
     * @param userId who asks
     * @param operation what for
     * @param payload the request's bytes
     * @return 64 lowercase hex characters, a valid key
     */
    public static String derive(String userId, String operation, byte[] payload) {
        MessageDigest digest = RequestHashes.newSha256();
        update(digest, RequestHashes.wtf8(userId));
        update(digest, RequestHashes.wtf8(operation));
        update(digest, payload);
        return RequestHashes.hex(digest.digest());
    }

    private static void update(MessageDigest digest, byte[] part) {
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(part.length).array());
        digest.update(part);
    }
}
