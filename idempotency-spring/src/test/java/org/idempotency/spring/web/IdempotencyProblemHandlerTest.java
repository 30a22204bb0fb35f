package org.idempotency.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyStoreException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;

/** The problem answers of the engine's failures that the web application tests cannot provoke on a live store. */
class IdempotencyProblemHandlerTest {

    @Test
    @DisplayName("a store that cannot be reached is 503 problem+json with a Retry-After, and says nothing was done")
    void storeUnavailable() {
        ResponseEntity<ProblemDetail> answer = new IdempotencyProblemHandler("https://example.com/problems/")
                .idempotency(new IdempotencyStoreException("The idempotency store failed to acquire", "orders:k-1",
                        new java.io.IOException("connection refused")));

        assertThat(answer.getStatusCode().value()).isEqualTo(503);
        assertThat(answer.getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("5");
        assertThat(answer.getHeaders().getCacheControl()).isEqualTo("no-store");
        ProblemDetail problem = answer.getBody();
        assertThat(problem).isNotNull();
        assertThat(problem.getType()).isEqualTo(URI.create("https://example.com/problems/idempotency-unavailable"));
        assertThat(problem.getProperties()).containsEntry("code", "idempotency-unavailable");
        assertThat(problem.getDetail()).contains("not processed").doesNotContain("k-1")
                .doesNotContain("connection refused");
    }

    @Test
    @DisplayName("a request in progress is 409 with a Retry-After of whole seconds, at least one")
    void inProgress() {
        ResponseEntity<ProblemDetail> answer = new IdempotencyProblemHandler()
                .idempotency(new IdempotencyInProgressException("orders:k-1", Duration.ofMillis(2300), Duration.ZERO));

        assertThat(answer.getStatusCode().value()).isEqualTo(409);
        assertThat(answer.getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("3");
        assertThat(answer.getBody()).isNotNull();
        assertThat(answer.getBody().getProperties()).containsEntry("code", "request-in-progress");
    }
}
