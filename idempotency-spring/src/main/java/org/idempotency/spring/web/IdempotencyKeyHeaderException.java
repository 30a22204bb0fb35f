package org.idempotency.spring.web;

/**
 * A request to an {@link org.idempotency.spring.Idempotent} controller method without a usable
 * {@code Idempotency-Key} header: missing where the method requires it, or malformed. Answered {@code 400} by
 * {@link IdempotencyProblemHandler}, with the same codes and texts as the servlet filter.
 */
public final class IdempotencyKeyHeaderException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The stable machine-readable name of the problem, see {@link #code()}. */
    private final String code;
    /** The short summary of the problem, see {@link #title()}. */
    private final String title;

    private IdempotencyKeyHeaderException(String code, String title, String detail) {
        super(detail);
        this.code = code;
        this.title = title;
    }

    /**
     * The header is missing.
     *
     * @return the exception
     */
    public static IdempotencyKeyHeaderException missing() {
        return new IdempotencyKeyHeaderException("idempotency-key-missing", "Idempotency-Key is missing",
                "This operation requires an Idempotency-Key header; send a new unique key (a UUID) with each new"
                        + " request, and the same key when retrying it.");
    }

    /**
     * The header is malformed.
     *
     * @param rule the broken rule, as the header parser names it
     * @return the exception
     */
    public static IdempotencyKeyHeaderException malformed(String rule) {
        return new IdempotencyKeyHeaderException("idempotency-key-malformed", "Idempotency-Key is malformed",
                "Malformed Idempotency-Key header: " + rule + ".");
    }

    /**
     * A stable machine-readable name: {@code idempotency-key-missing} or {@code idempotency-key-malformed}.
     *
     * @return the code
     */
    public String code() {
        return code;
    }

    /**
     * A short summary of the problem.
     *
     * @return the title
     */
    public String title() {
        return title;
    }

    /**
     * The HTTP status of the answer.
     *
     * @return 400
     */
    public int httpStatus() {
        return 400;
    }
}
