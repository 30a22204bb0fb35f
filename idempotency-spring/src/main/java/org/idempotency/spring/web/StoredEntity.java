package org.idempotency.spring.web;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What is stored for a controller method that returns a {@code ResponseEntity}: its status, its allow-listed
 * headers and its body, which replays turn back into an equal {@code ResponseEntity}. Encoded by the engine's
 * codec like any result.
 *
 * @param status the HTTP status
 * @param headers the allow-listed headers (by default {@code Content-Type} and {@code Location})
 * @param body the body, or {@code null}
 * @param <T> the body type
 */
public record StoredEntity<T>(int status, Map<String, List<String>> headers, @Nullable T body) {

    /**
     * Copies the headers.
     *
     * @param status the HTTP status
     * @param headers the allow-listed headers
     * @param body the body, or {@code null}
     */
    public StoredEntity {
        headers = Map.copyOf(headers);
    }
}
