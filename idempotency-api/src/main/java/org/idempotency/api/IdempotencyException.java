package org.idempotency.api;

import org.jspecify.annotations.Nullable;

/**
 * Root of every exception the library throws for an idempotency outcome, a store fault or a configuration
 * problem. Each subclass says which HTTP status it corresponds to, so adapters can map outcomes without a
 * table of their own.
 *
 * <p>Messages name the affected key (shortened by {@link #safeKey(String)} when long) and what to do. They
 * never contain request or response bodies.
 */
public abstract class IdempotencyException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final int MAX_KEY_IN_MESSAGE = 80;

    /** The stored key this exception is about, or {@code null}. */
    private final @Nullable String key;

    /**
     * Creates an exception about one key, or about none.
     *
     * @param message the complete message: what happened and what to do
     * @param key the stored key concerned ({@code operation:key}), or {@code null} when there is none
     * @param cause the underlying exception, or {@code null}
     */
    protected IdempotencyException(String message, @Nullable String key, @Nullable Throwable cause) {
        super(message, cause);
        this.key = key;
    }

    /**
     * The stored key this exception is about ({@code operation:key}), or {@code null} when it concerns no
     * single key (a configuration error, a purge).
     *
     * @return the stored key, or {@code null}
     */
    public @Nullable String key() {
        return key;
    }

    /**
     * The HTTP status an HTTP adapter should answer with for this outcome.
     *
     * @return an HTTP status code
     */
    public abstract int httpStatus();

    /**
     * Shortens a key for messages and logs: keys longer than 80 characters are cut and marked with an
     * ellipsis, control characters are replaced, so a message never carries an unbounded or unprintable key.
     *
     * @param key the key to show, or {@code null}
     * @return the key as a message may show it; {@code <none>} for {@code null}
     */
    public static String safeKey(@Nullable String key) {
        if (key == null) {
            return "<none>";
        }
        StringBuilder out = new StringBuilder(Math.min(key.length(), MAX_KEY_IN_MESSAGE) + 1);
        for (int i = 0; i < key.length() && out.length() < MAX_KEY_IN_MESSAGE; i++) {
            char c = key.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        if (key.length() > MAX_KEY_IN_MESSAGE) {
            out.append('…');
        }
        return out.toString();
    }
}
