package org.idempotency.servlet;

import jakarta.servlet.http.HttpServletRequest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import org.idempotency.core.JsonFingerprint;
import org.jspecify.annotations.Nullable;

/**
 * The request hash stored with a key: a repeat of the key whose fingerprint differs is refused with
 * {@code 422}, because the client reused the key for another request. The default,
 * {@link #methodPathAndBody()}, is SHA-256 over the method, the path with its query string, and the body
 * bytes; {@link #methodPathAndJson(JsonFingerprint)} ignores JSON formatting (key order, whitespace);
 * {@link #none()} turns the check off.
 *
 * <p>Implementations must be thread-safe.
 */
@FunctionalInterface
public interface RequestFingerprint {

    /**
     * The fingerprint of a request, or {@code null} to skip the reuse check.
     *
     * @param request the request (its body already read)
     * @param body the request body, as buffered by the filter
     */
    @Nullable String fingerprint(HttpServletRequest request, byte[] body);

    /** SHA-256 over the method, the path and query string, and the body bytes, as 64 hex characters. */
    static RequestFingerprint methodPathAndBody() {
        return (request, body) -> sha256(request, (byte) 'b', body);
    }

    /**
     * Like {@link #methodPathAndBody()}, but a body that is well-formed JSON is hashed in the canonical form of
     * {@code json} (so formatting differences do not count, and excluded fields are ignored); any other body
     * is hashed as bytes.
     */
    static RequestFingerprint methodPathAndJson(JsonFingerprint json) {
        Objects.requireNonNull(json, "json must not be null");
        return (request, body) -> {
            String canonical;
            try {
                canonical = json.canonicalize(body);
            } catch (IllegalArgumentException notJson) {
                return sha256(request, (byte) 'b', body);
            }
            return sha256(request, (byte) 'j', canonical.getBytes(StandardCharsets.UTF_8));
        };
    }

    /** No fingerprint: a key is never refused for a different request. */
    static RequestFingerprint none() {
        return (request, body) -> null;
    }

    private static String sha256(HttpServletRequest request, byte bodyForm, byte[] body) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
        String query = request.getQueryString();
        update(digest, request.getMethod().getBytes(StandardCharsets.UTF_8));
        update(digest, (request.getRequestURI() + (query == null ? "" : "?" + query)).getBytes(StandardCharsets.UTF_8));
        digest.update(bodyForm);
        update(digest, body);
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void update(MessageDigest digest, byte[] part) {
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(part.length).array());
        digest.update(part);
    }
}
