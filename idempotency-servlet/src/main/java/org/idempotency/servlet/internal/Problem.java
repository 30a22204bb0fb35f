package org.idempotency.servlet.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An RFC 9457 problem details response ({@code application/problem+json}). Without a configured type base the
 * {@code type} is {@code about:blank} and the {@code title} is the status phrase, as RFC 9457 asks; the
 * specific problem is then told by {@code detail} and by the extension member {@code code}. With a type base
 * (the application's documentation), {@code type} is the base followed by the code, and {@code title} names
 * the problem.
 *
 * @param status the HTTP status
 * @param code a stable machine-readable name of the problem, such as {@code idempotency-key-missing}
 * @param title a short summary of the problem
 * @param detail what happened to this request and what the client should do
 * @param retryAfterSeconds a {@code Retry-After} value, or 0 for none
 */
public record Problem(int status, String code, String title, String detail, long retryAfterSeconds) {

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /**
     * Writes the problem on a response that is not committed, replacing anything it held.
     *
     * @param response the response
     * @param typeBase the configured type base, or {@code null} for {@code about:blank}
     * @throws IOException if the client cannot be written to
     */
    public void write(HttpServletResponse response, @Nullable String typeBase) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", typeBase == null ? "about:blank" : typeBase + code);
        body.put("title", typeBase == null ? reason(status) : title);
        body.put("status", status);
        body.put("detail", detail);
        body.put("code", code);
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings always serializes", e);
        }
        response.reset();
        response.setStatus(status);
        response.setContentType("application/problem+json");
        response.setHeader("Cache-Control", "no-store");
        if (retryAfterSeconds > 0) {
            response.setHeader("Retry-After", Long.toString(retryAfterSeconds));
        }
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
    }

    /**
     * The recommended reason phrase of a status (RFC 9110), for the title of {@code about:blank} problems.
     *
     * @param status an HTTP status
     * @return its reason phrase
     */
    public static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 422 -> "Unprocessable Content";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> "HTTP " + status;
        };
    }
}
