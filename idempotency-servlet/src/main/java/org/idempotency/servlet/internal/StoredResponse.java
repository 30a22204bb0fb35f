package org.idempotency.servlet.internal;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The part of an HTTP response that the filter stores and replays: the status, the allow-listed headers and
 * the body, or the container call that produced it ({@code sendError}, {@code sendRedirect}). Encoded by the
 * engine's codec (JSON by default, the body as base64).
 *
 * @param status the HTTP status
 * @param headers allow-listed response headers, in the order they were captured
 * @param body the body bytes; empty for {@link Kind#SEND_ERROR} and {@link Kind#REDIRECT}
 * @param kind how the response was produced
 * @param argument the {@code sendError} message or the {@code sendRedirect} location, else {@code null}
 */
public record StoredResponse(int status, Map<String, List<String>> headers, byte[] body, Kind kind,
        @Nullable String argument) {

    /** How a response was produced, so that a replay produces it the same way. */
    public enum Kind {
        /** Status, headers and body written by the handler. */
        BODY,
        /** {@code sendError(status, message)}: the container renders the error page. */
        SEND_ERROR,
        /** {@code sendRedirect(location)}: the container resolves the location. */
        REDIRECT
    }

    /**
     * Checks the parts and copies the headers.
     *
     * @param status the HTTP status
     * @param headers allow-listed response headers
     * @param body the body bytes
     * @param kind how the response was produced
     * @param argument the {@code sendError} message or the {@code sendRedirect} location, else {@code null}
     */
    public StoredResponse {
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(kind, "kind");
        headers = new LinkedHashMap<>(headers);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof StoredResponse that && status == that.status && headers.equals(that.headers)
                && Arrays.equals(body, that.body) && kind == that.kind && Objects.equals(argument, that.argument);
    }

    @Override
    public int hashCode() {
        return Objects.hash(status, headers, Arrays.hashCode(body), kind, argument);
    }

    @Override
    public String toString() {
        return "StoredResponse[" + status + ", " + kind + ", headers " + headers.keySet() + ", " + body.length
                + " bytes]";
    }
}
