package org.idempotency.servlet;

import jakarta.servlet.http.HttpServletRequest;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.servlet.internal.KeyHeader;

/**
 * Reads the client's key from a request's {@code Idempotency-Key} header exactly as {@link IdempotencyFilter}
 * does, for other HTTP adapters (such as an annotation on a controller method) that must answer the same
 * requests the same way: an sf-string ({@code "8e03978e-40d5"}) or a bare token ({@code 8e03978e-40d5}), one
 * field per request, at most {@code maxKeyLength} characters.
 *
 * <p>Stateless and thread-safe.
 */
public final class IdempotencyKeyHeader {

    private IdempotencyKeyHeader() {
    }

    /**
     * The key the request carries, unquoted.
     *
     * @param request the request
     * @param maxKeyLength the longest key accepted, in characters (the filter's default is 255)
     * @return the key, or empty if the request has no {@code Idempotency-Key} field
     * @throws InvalidIdempotencyKeyException if the header is malformed (empty, too long, unbalanced quotes,
     *     neither an sf-string nor a bare token, several fields); {@link InvalidIdempotencyKeyException#rule()}
     *     names the broken rule, in the words of the filter's {@code 400} answers
     */
    public static Optional<String> parse(HttpServletRequest request, int maxKeyLength) {
        Enumeration<String> headers = request.getHeaders(IdempotencyFilter.HEADER);
        List<String> values = headers == null ? List.of() : Collections.list(headers);
        if (values.isEmpty()) {
            return Optional.empty();
        }
        try {
            if (values.size() > 1) {
                throw new KeyHeader.MalformedKey("the request must carry one " + IdempotencyFilter.HEADER
                        + " field, it carried " + values.size());
            }
            return Optional.of(KeyHeader.parse(values.get(0), maxKeyLength));
        } catch (KeyHeader.MalformedKey e) {
            throw new InvalidIdempotencyKeyException(e.getMessage(), "malformed " + IdempotencyFilter.HEADER
                    + " header");
        }
    }
}
