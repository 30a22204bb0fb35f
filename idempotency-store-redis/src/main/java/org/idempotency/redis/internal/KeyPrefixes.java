package org.idempotency.redis.internal;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.idempotency.api.IdempotencyException;

/** The rule for key prefixes, shared by the builder and the provider. Stateless and thread-safe. */
public final class KeyPrefixes {

    /** The longest key prefix, in UTF-8 bytes. */
    public static final int MAX_BYTES = 128;

    private KeyPrefixes() {
    }

    /**
     * Returns the prefix if it is 1 to {@value #MAX_BYTES} UTF-8 bytes of well-formed Unicode without
     * whitespace or control characters.
     *
     * @throws IllegalArgumentException naming the broken rule
     */
    public static String check(String keyPrefix) {
        Objects.requireNonNull(keyPrefix, "keyPrefix must not be null");
        if (keyPrefix.isEmpty() || keyPrefix.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            throw new IllegalArgumentException("keyPrefix must be 1 to " + MAX_BYTES + " UTF-8 bytes, was '"
                    + IdempotencyException.safeKey(keyPrefix) + "'");
        }
        for (int i = 0; i < keyPrefix.length(); ) {
            int c = keyPrefix.codePointAt(i);
            boolean unpairedSurrogate = c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE;
            if (Character.isWhitespace(c) || Character.isISOControl(c) || unpairedSurrogate) {
                throw new IllegalArgumentException("keyPrefix must not contain whitespace, control characters or"
                        + " broken Unicode, was '" + IdempotencyException.safeKey(keyPrefix) + "'");
            }
            i += Character.charCount(c);
        }
        return keyPrefix;
    }
}
