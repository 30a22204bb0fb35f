package org.idempotency.redis.internal;

import org.jspecify.annotations.Nullable;

/**
 * The encoding of the strings a record keeps (request hash, error type, error message), so that every Java
 * string is kept and read back equal. UTF-8 cannot hold an unpaired surrogate (encoders write {@code '?'}
 * instead, so two different request hashes would compare equal), and database text types refuse U+0000; the
 * encoding avoids both, and is injective, so equal encodings mean equal strings (the scripts compare request
 * hashes encoded).
 *
 * <ul>
 *   <li>A string without U+0000 or unpaired surrogates that does not start with U+0001 is kept as it is: all
 *       usual text, so records stay readable.</li>
 *   <li>Any other string is kept as U+0001 followed by the string, in which U+0000, U+0001 and every unpaired
 *       surrogate are written as U+0001 and the four lower-case hex digits of the character.</li>
 * </ul>
 * The same encoding is used by the SQL store. Stateless and thread-safe.
 */
public final class StoredText {

    /** Starts an encoded string, and each escaped character in it. */
    static final char ESCAPE = '\u0001';

    private StoredText() {
    }

    /** The stored form of {@code text}; {@code null} stays {@code null}. */
    public static @Nullable String encode(@Nullable String text) {
        if (text == null || isPlain(text)) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 16).append(ESCAPE);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(++i));
            } else if (c == '\u0000' || c == ESCAPE || Character.isSurrogate(c)) {
                out.append(ESCAPE).append(String.format("%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * The string whose stored form is {@code stored}; {@code null} stays {@code null}.
     *
     * @throws IllegalArgumentException if {@code stored} is not a stored form
     */
    public static @Nullable String decode(@Nullable String stored) {
        if (stored == null || stored.isEmpty() || stored.charAt(0) != ESCAPE) {
            return stored;
        }
        StringBuilder out = new StringBuilder(stored.length());
        for (int i = 1; i < stored.length(); i++) {
            char c = stored.charAt(i);
            if (c != ESCAPE) {
                out.append(c);
                continue;
            }
            if (i + 4 >= stored.length()) {
                throw new IllegalArgumentException("an escape is cut short");
            }
            int code = 0;
            for (int d = i + 1; d <= i + 4; d++) {
                int digit = Character.digit(stored.charAt(d), 16);
                if (digit < 0) {
                    throw new IllegalArgumentException("an escape has no four hex digits");
                }
                code = code * 16 + digit;
            }
            out.append((char) code);
            i += 4;
        }
        return out.toString();
    }

    /** Whether a string is kept as it is: no U+0000, no unpaired surrogate, and not starting with U+0001. */
    private static boolean isPlain(String text) {
        if (!text.isEmpty() && text.charAt(0) == ESCAPE) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u0000') {
                return false;
            }
            if (Character.isSurrogate(c)) {
                if (!Character.isHighSurrogate(c) || i + 1 >= text.length()
                        || !Character.isLowSurrogate(text.charAt(i + 1))) {
                    return false;
                }
                i++;
            }
        }
        return true;
    }
}
