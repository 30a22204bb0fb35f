package org.idempotency.servlet;

import jakarta.servlet.http.HttpServletRequest;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Which requests share a key namespace. The filter stores a response under the client's key <em>within</em>
 * the scope of the request that produced it, so a key sent by one client (or for another endpoint) can never
 * find another client's stored response. The scope may be any string: the filter hashes it, so its length and
 * characters do not count against the key rules.
 *
 * <p>The default, {@link #principalMethodAndPath()}, scopes by the authenticated principal, the method and
 * the request path. Services that identify clients otherwise (an API key, a tenant header checked upstream)
 * use {@link #clientMethodAndPath(Function)}. Requests with no client identity share one scope per method and
 * path: for anonymous traffic, keys must then be unguessable (random UUIDs), as the draft recommends.
 *
 * <p>Implementations must be thread-safe and must not read the request body.
 */
@FunctionalInterface
public interface IdempotencyScope {

    /** The scope of a request. */
    String scopeOf(HttpServletRequest request);

    /** The authenticated principal's name (when there is one), the method and the request path. */
    static IdempotencyScope principalMethodAndPath() {
        return clientMethodAndPath(request -> {
            Principal principal = request.getUserPrincipal();
            return principal == null ? null : principal.getName();
        });
    }

    /**
     * A client identity of the application's choosing (or {@code null} for none), the method and the request
     * path (without the query string).
     */
    static IdempotencyScope clientMethodAndPath(Function<HttpServletRequest, @Nullable String> client) {
        Objects.requireNonNull(client, "client must not be null");
        return request -> {
            String id = client.apply(request);
            StringBuilder scope = new StringBuilder();
            part(scope, id == null ? "anonymous" : "client:" + id);
            part(scope, request.getMethod());
            part(scope, request.getRequestURI());
            return scope.toString();
        };
    }

    /** Appends a length-prefixed part, so that no two different tuples give the same scope. */
    private static void part(StringBuilder scope, String value) {
        scope.append(value.getBytes(StandardCharsets.UTF_8).length).append(':').append(value).append(';');
    }
}
