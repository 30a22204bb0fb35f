package org.idempotency.spring.internal;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.RequestHashes;
import org.idempotency.servlet.IdempotencyFilter;
import org.idempotency.servlet.IdempotencyKeyHeader;
import org.idempotency.spring.web.IdempotencyKeyHeaderException;
import org.idempotency.spring.web.StoredEntity;
import org.jspecify.annotations.Nullable;
import org.springframework.core.ResolvableType;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * The HTTP side of controller methods: the {@code Idempotency-Key} header of the current request (parsed by
 * the servlet module, as the filter parses it), the principal's scope, and {@code ResponseEntity} results.
 * Loaded only when Spring Web, the servlet API and the servlet module are on the class path.
 */
final class WebSupport {

    /** Keys longer than this are refused, as by the filter's default. */
    private static final int MAX_KEY_LENGTH = 255;

    private WebSupport() {
    }

    static boolean isResponseEntity(Class<?> type) {
        return ResponseEntity.class.isAssignableFrom(type);
    }

    static Type storedEntityType(Type body) {
        return ResolvableType.forClassWithGenerics(StoredEntity.class, ResolvableType.forType(body)).getType();
    }

    private static @Nullable ServletRequestAttributes current() {
        RequestAttributes attributes = RequestContextHolder.getRequestAttributes();
        return attributes instanceof ServletRequestAttributes servlet ? servlet : null;
    }

    private static HttpServletRequest request(String where) {
        ServletRequestAttributes current = current();
        if (current == null) {
            throw new IllegalStateException("@Idempotent on " + where + " takes its key from the Idempotency-Key"
                    + " header, but it was called outside an HTTP request; give it a key expression");
        }
        return current.getRequest();
    }

    /** The client's key from the current request's header, or {@code null} if it sent none. */
    static @Nullable String headerKey(String where) {
        try {
            Optional<String> key = IdempotencyKeyHeader.parse(request(where), MAX_KEY_LENGTH);
            return key.orElse(null);
        } catch (InvalidIdempotencyKeyException e) {
            throw IdempotencyKeyHeaderException.malformed(e.rule());
        }
    }

    /**
     * The client's key within the scope of the authenticated principal (one scope for requests without one),
     * as the filter scopes keys: the scope's SHA-256 in base64url, then {@code ':'} and the key, or {@code '#'}
     * and the key's SHA-256 if the key is too long to sit beside it.
     */
    static String scopedKey(String key) {
        ServletRequestAttributes current = current();
        Principal principal = current == null ? null : current.getRequest().getUserPrincipal();
        String scope = principal == null ? "anonymous" : "principal:" + principal.getName();
        String digest = Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(scope));
        if (digest.length() + 1 + key.length() <= IdempotencyKeys.MAX_KEY_BYTES) { // header keys are ASCII
            return digest + ':' + key;
        }
        return digest + '#' + RequestHashes.sha256(key.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    static int status(Object entity) {
        return ((ResponseEntity<?>) entity).getStatusCode().value();
    }

    /** Whether a status is stored: as the filter's default, every status below 500 except 408 and 429. */
    static boolean storedStatus(int status) {
        return status < 500 && status != 408 && status != 429;
    }

    static StoredEntity<?> toStoredEntity(Object result, List<String> replayHeaders) {
        ResponseEntity<?> entity = (ResponseEntity<?>) result;
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : replayHeaders) {
            List<String> values = entity.getHeaders().get(name);
            if (values != null && !values.isEmpty()) {
                headers.put(name, List.copyOf(values));
            }
        }
        return new StoredEntity<>(entity.getStatusCode().value(), headers, entity.getBody());
    }

    static ResponseEntity<?> replayEntity(@Nullable Object stored) {
        StoredEntity<?> entity = (StoredEntity<?>) stored;
        if (entity == null) {
            throw new IllegalStateException("a stored ResponseEntity is missing from its record");
        }
        HttpHeaders headers = new HttpHeaders();
        entity.headers().forEach(headers::addAll);
        headers.set(IdempotencyFilter.REPLAYED_HEADER, "true");
        return ResponseEntity.status(entity.status()).headers(headers).body(entity.body());
    }

    /** Marks the current response as a replay ({@code Idempotent-Replayed: true}). */
    static void markReplayed() {
        ServletRequestAttributes current = current();
        HttpServletResponse response = current == null ? null : current.getResponse();
        if (response != null && !response.isCommitted()) {
            response.setHeader(IdempotencyFilter.REPLAYED_HEADER, "true");
        }
    }
}
