package org.idempotency.spring.web;

import java.net.URI;
import java.time.Duration;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Answers idempotency failures in Spring MVC with RFC 9457 problem details ({@code application/problem+json},
 * Spring's {@link ProblemDetail}), with the statuses, codes and texts of the servlet filter: a key reused with
 * another request {@code 422} ({@code idempotency-key-reused}), a request still in progress {@code 409} with
 * {@code Retry-After} ({@code request-in-progress}), a response not kept {@code 409}, a replayed permanent
 * failure {@code 422}, a lost lease {@code 409}, the store unreachable {@code 503}
 * ({@code idempotency-unavailable}, with a {@code Retry-After} of five seconds, the filter's default), a missing or
 * malformed {@code Idempotency-Key} header {@code 400}. Every
 * problem carries the extension member {@code code}; {@code type} is {@code about:blank}, or the configured
 * base followed by the code.
 *
 * <p>It handles these exceptions from any controller, including those thrown by {@code @Idempotent} services the
 * controller calls. It has the lowest precedence, so an application's own handlers for them win. Register it as
 * a bean (the starter does). Thread-safe.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
public class IdempotencyProblemHandler {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyProblemHandler.class);
    /** The {@code Retry-After} of a {@code 503}: a store that cannot be reached is rarely back within a second. */
    static final long UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

    private final @Nullable String problemTypeBase;

    /** Problems of type {@code about:blank}. */
    public IdempotencyProblemHandler() {
        this(null);
    }

    /**
     * Problems whose type is {@code problemTypeBase} followed by their code.
     *
     * @param problemTypeBase a URI prefix such as {@code https://example.com/problems/}, or {@code null} for
     *     {@code about:blank}
     */
    public IdempotencyProblemHandler(@Nullable String problemTypeBase) {
        this.problemTypeBase = problemTypeBase == null || problemTypeBase.isBlank() ? null : problemTypeBase;
    }

    /**
     * Answers a missing or malformed {@code Idempotency-Key} header.
     *
     * @param e the exception
     * @return {@code 400} with a problem
     */
    @ExceptionHandler(IdempotencyKeyHeaderException.class)
    public ResponseEntity<ProblemDetail> keyHeader(IdempotencyKeyHeaderException e) {
        return problem(e.httpStatus(), e.code(), e.title(), e.getMessage(), null);
    }

    /**
     * Answers a key that breaks the key rules (from a key expression).
     *
     * @param e the exception
     * @return {@code 400} with a problem
     */
    @ExceptionHandler(InvalidIdempotencyKeyException.class)
    public ResponseEntity<ProblemDetail> invalidKey(InvalidIdempotencyKeyException e) {
        return problem(400, "idempotency-key-invalid", "Idempotency key is invalid",
                "The idempotency key of this request is invalid: " + e.rule() + ".", null);
    }

    /**
     * Answers the failures of the idempotency engine.
     *
     * @param e the exception
     * @return a problem with the exception's status
     */
    @ExceptionHandler(IdempotencyException.class)
    public ResponseEntity<ProblemDetail> idempotency(IdempotencyException e) {
        if (e instanceof IdempotencyKeyReusedException) {
            return problem(422, "idempotency-key-reused", "Idempotency-Key is already used",
                    "This idempotency key was already used with a different request; send a new key for a new"
                            + " request.", null);
        }
        if (e instanceof IdempotencyInProgressException inProgress) {
            long seconds = Math.max(1, ceilSeconds(inProgress.retryAfter()));
            return problem(409, "request-in-progress", "A request is outstanding for this Idempotency-Key",
                    "A request with the same idempotency key is still being processed; retry after " + seconds
                            + " s with the same key to get its response.", seconds);
        }
        if (e instanceof IdempotencyResultNotKeptException) {
            return problem(409, "response-not-kept", "The response for this Idempotency-Key was not kept",
                    "The request with this idempotency key was processed, but its response was too large to keep,"
                            + " so it cannot be replayed; the request is not processed again.", null);
        }
        if (e instanceof IdempotencyReplayedFailureException) {
            return problem(e.httpStatus(), "request-failed", "The request for this Idempotency-Key failed",
                    "The request with this idempotency key failed permanently earlier; send a new key to try"
                            + " again.", null);
        }
        if (e instanceof IdempotencyLeaseLostException) {
            return problem(409, "request-taken-over", "The request for this Idempotency-Key was taken over",
                    "Another attempt with the same idempotency key took this request over, and its changes were"
                            + " not kept; retry with the same key to get the outcome.", null);
        }
        if (e instanceof IdempotencyStoreException) {
            return problem(503, "idempotency-unavailable", "Idempotency check unavailable",
                    "The request was not processed because its idempotency key could not be checked; retry later"
                            + " with the same key.", UNAVAILABLE_RETRY_AFTER_SECONDS);
        }
        LOG.warn("Idempotency failure answered with {}: {}", e.httpStatus(), e.getMessage());
        return problem(e.httpStatus(), "idempotency-error", "Idempotency error",
                "The request could not be processed idempotently; retry later with the same key.",
                e.httpStatus() == 503 ? UNAVAILABLE_RETRY_AFTER_SECONDS : null);
    }

    private ResponseEntity<ProblemDetail> problem(int status, String code, String title, String detail,
            @Nullable Long retryAfterSeconds) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatusCode.valueOf(status), detail);
        if (problemTypeBase != null) {
            problem.setType(URI.create(problemTypeBase + code));
            problem.setTitle(title);
        }
        problem.setProperty("code", code);
        ResponseEntity.BodyBuilder answer = ResponseEntity.status(status).cacheControl(CacheControl.noStore());
        if (retryAfterSeconds != null) {
            answer.header(HttpHeaders.RETRY_AFTER, Long.toString(retryAfterSeconds));
        }
        return answer.body(problem);
    }

    private static long ceilSeconds(Duration duration) {
        long seconds = duration.getSeconds();
        return duration.getNano() > 0 ? seconds + 1 : seconds;
    }
}
