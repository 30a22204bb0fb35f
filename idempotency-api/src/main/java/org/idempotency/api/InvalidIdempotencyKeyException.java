package org.idempotency.api;

/**
 * A key (or operation name) broke one of the key rules: not blank, at most 255 UTF-8 bytes, no control
 * characters. Thrown before any store call. It is an {@link IllegalArgumentException} because the caller
 * passed bad input; HTTP adapters answer it with 400.
 */
public final class InvalidIdempotencyKeyException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** The rule that was broken. */
    private final String rule;

    /**
     * Creates the exception.
     *
     * @param rule the rule that was broken, as a short sentence
     * @param detail what in the key broke it (never the whole key when it is long)
     */
    public InvalidIdempotencyKeyException(String rule, String detail) {
        super("Invalid idempotency key: " + rule + " (" + detail + ")");
        this.rule = rule;
    }

    /**
     * The rule that was broken, as a short sentence.
     *
     * @return the rule
     */
    public String rule() {
        return rule;
    }
}
