package org.idempotency.redis.internal;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.idempotency.api.IdempotencyException;

/**
 * The rule for key prefixes, shared by the builder and the provider. A record's Redis key is the prefix followed
 * by the stored key, and stored keys may contain anything, {@code ':'} included; so that two stores never share
 * a Redis key, the prefix must tell where it ends. The rule:
 * <ul>
 *   <li>1 to {@value #MAX_BYTES} UTF-8 bytes of well-formed Unicode, without whitespace or control
 *       characters;</li>
 *   <li>it <b>ends with {@code ':'} and contains no other {@code ':'}</b>: the prefix of a Redis key is
 *       everything up to its first {@code ':'}, so different prefixes never produce the same key (no prefix can
 *       begin another);</li>
 *   <li>no glob characters ({@code * ? [ ] \}), so that {@code SCAN MATCH <prefix>*} lists exactly the store's
 *       keys;</li>
 *   <li>a Redis Cluster hash tag is welcome but must be complete: if the prefix contains a <code>'&#123;'</code>, the first
 *       one is closed by a <code>'&#125;'</code> inside the prefix with at least one character between them. Every key of
 *       the store then hashes to the slot of that tag, whatever the stored key contains.</li>
 * </ul>
 * Stateless and thread-safe.
 */
public final class KeyPrefixes {

    /** The longest key prefix, in UTF-8 bytes. */
    public static final int MAX_BYTES = 128;
    /** The character that ends a prefix, and may appear nowhere else in it. */
    public static final char END = ':';
    /** The rule in one phrase, for messages. */
    public static final String RULE = "1 to " + MAX_BYTES + " UTF-8 bytes without whitespace, control or glob"
            + " characters (* ? [ ] \\), ending with ':' and containing no other ':' (such as 'idempotency:',"
            + " 'payments-idempotency:' or '{payments}-idempotency:'), and a '{' only as a complete hash tag";

    private KeyPrefixes() {
    }

    /**
     * Returns the prefix if it follows the rule of this class.
     *
     * @throws IllegalArgumentException naming the broken rule and the prefix
     */
    public static String check(String keyPrefix) {
        Objects.requireNonNull(keyPrefix, "keyPrefix must not be null");
        String shown = IdempotencyException.safeKey(keyPrefix);
        if (keyPrefix.isEmpty() || keyPrefix.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            throw new IllegalArgumentException("keyPrefix must be 1 to " + MAX_BYTES + " UTF-8 bytes, was '" + shown
                    + "'");
        }
        for (int i = 0; i < keyPrefix.length(); ) {
            int c = keyPrefix.codePointAt(i);
            boolean unpairedSurrogate = c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE;
            if (Character.isWhitespace(c) || Character.isISOControl(c) || unpairedSurrogate) {
                throw new IllegalArgumentException("keyPrefix must not contain whitespace, control characters or"
                        + " broken Unicode, was '" + shown + "'");
            }
            if ("*?[]\\".indexOf(c) >= 0) {
                throw new IllegalArgumentException("keyPrefix must not contain the glob characters * ? [ ] \\ (so"
                        + " that SCAN MATCH <prefix>* finds exactly the store's keys), was '" + shown + "'");
            }
            i += Character.charCount(c);
        }
        if (keyPrefix.indexOf(END) != keyPrefix.length() - 1) {
            throw new IllegalArgumentException("keyPrefix must end with '" + END + "' and contain no other '" + END
                    + "' (a prefix ends at its first '" + END + "', so that no prefix begins another and stores with"
                    + " different prefixes never share a key; write 'payments-idempotency:' rather than"
                    + " 'payments:idempotency:'), was '" + shown + "'");
        }
        int open = keyPrefix.indexOf('{');
        if (open >= 0) {
            int close = keyPrefix.indexOf('}', open + 1);
            if (close < 0 || close == open + 1) {
                throw new IllegalArgumentException("keyPrefix may contain '{' only as a complete Redis Cluster hash"
                        + " tag: its first '{' must be closed by a '}' within the prefix, with at least one character"
                        + " between them (as in '{payments}-idempotency:'), was '" + shown + "'");
            }
        }
        return keyPrefix;
    }
}
