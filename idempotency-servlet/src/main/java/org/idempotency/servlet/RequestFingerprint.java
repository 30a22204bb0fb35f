package org.idempotency.servlet;

import jakarta.servlet.http.HttpServletRequest;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import org.idempotency.core.JsonFingerprint;
import org.idempotency.core.RequestHashes;
import org.idempotency.servlet.internal.RequestTarget;
import org.jspecify.annotations.Nullable;

/**
 * The request hash stored with a key: a repeat of the key whose fingerprint differs is refused with
 * {@code 422}, because the client reused the key for another request. The filter always binds a key to the
 * method and the (decoded, normalised) path of its first request as well, whatever the fingerprint.
 *
 * <p>The default, {@link #methodPathAndBody()}, is SHA-256 over the method, the path, the query string and the
 * body bytes; {@link #methodPathAndJson(JsonFingerprint)} ignores JSON formatting (key order, whitespace);
 * {@link #none()} compares nothing but the method and path.
 *
 * <p>A fingerprint that cannot judge a request throws {@link IllegalArgumentException} naming the rule: the
 * filter answers {@code 400} and the handler does not run. Any other exception is a bug and propagates.
 *
 * <p>Implementations must be thread-safe.
 */
@FunctionalInterface
public interface RequestFingerprint {

    /**
     * The fingerprint of a request, or {@code null} to compare only the method and path.
     *
     * @param request the request (its body already read)
     * @param body the request body, as buffered by the filter
     * @return the fingerprint, or {@code null}
     * @throws IllegalArgumentException if the request cannot be fingerprinted (answered with {@code 400})
     */
    @Nullable String fingerprint(HttpServletRequest request, byte[] body);

    /**
     * SHA-256 over the method, the path, the query string (as sent) and the body bytes.
     *
     * @return the default fingerprint, as 64 hex characters
     */
    static RequestFingerprint methodPathAndBody() {
        return (request, body) -> sha256(request, (byte) 'b', body);
    }

    /**
     * Like {@link #methodPathAndBody()}, but a body that is a JSON document is hashed in the canonical form of
     * {@code json} (so formatting differences do not count, and excluded fields are ignored), and a body that
     * is not JSON at all ({@link JsonFingerprint.NotJsonException}) is hashed as bytes. A JSON document beyond
     * the limits of {@link JsonFingerprint} (such as the number {@code 100e2147483647}, or nesting deeper than
     * it accepts) is refused: the filter answers {@code 400}.
     *
     * @param json the canonical form to use
     * @return a fingerprint, as 64 hex characters
     */
    static RequestFingerprint methodPathAndJson(JsonFingerprint json) {
        Objects.requireNonNull(json, "json must not be null");
        return (request, body) -> {
            String canonical;
            try {
                canonical = json.canonicalize(body);
            } catch (JsonFingerprint.NotJsonException notJson) {
                return sha256(request, (byte) 'b', body);
            }
            return sha256(request, (byte) 'j', RequestHashes.wtf8(canonical));
        };
    }

    /**
     * No fingerprint: a key is refused only on another method or path, never for another body.
     *
     * @return a fingerprint that is always {@code null}
     */
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
        update(digest, RequestHashes.wtf8(RequestTarget.method(request)));
        update(digest, RequestHashes.wtf8(RequestTarget.path(request)));
        String query = request.getQueryString();
        if (query == null) {
            digest.update((byte) 0);
        } else {
            digest.update((byte) 1);
            update(digest, RequestHashes.wtf8(query));
        }
        digest.update(bodyForm);
        update(digest, body);
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void update(MessageDigest digest, byte[] part) {
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(part.length).array());
        digest.update(part);
    }
}
