package org.idempotency.servlet;

import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Which clients share a key namespace. The filter stores a response under the client's key <em>within</em> the
 * scope of the request that produced it, so a key sent by one client can never find another client's stored
 * response. The scope may be any string: the filter hashes it (as WTF-8, so any two different scopes stay
 * apart), so its length and characters do not count against the key rules.
 *
 * <p>A scope names the client, not the endpoint: the filter binds each key to the method and path of its first
 * request, so the same key sent by the same client to another method or path is refused with {@code 422},
 * as the draft asks, and never runs the handler again under another spelling of the path.
 *
 * <p>The default, {@link #principal()}, scopes by the authenticated principal. Services that identify clients
 * otherwise (an API key, a tenant checked upstream) use {@link #client(Function)}. Requests with no client
 * identity share one scope: for anonymous traffic, keys must then be unguessable (random UUIDs), as the draft
 * recommends.
 *
 * <p>Implementations must be thread-safe and must not read the request body.
 */
@FunctionalInterface
public interface IdempotencyScope {

    /**
     * The scope of a request.
     *
     * @param request the request, its body not yet read by the application
     * @return the scope; requests with equal scopes share keys
     */
    String scopeOf(HttpServletRequest request);

    /**
     * The authenticated principal's name, or one shared scope for requests without a principal.
     *
     * @return a scope by principal
     */
    static IdempotencyScope principal() {
        return client(request -> {
            Principal principal = request.getUserPrincipal();
            return principal == null ? null : principal.getName();
        });
    }

    /**
     * A client identity of the application's choosing, or one shared scope for requests it returns
     * {@code null} for.
     *
     * @param client the client identity of a request, or {@code null} for none
     * @return a scope by client
     */
    static IdempotencyScope client(Function<HttpServletRequest, @Nullable String> client) {
        Objects.requireNonNull(client, "client must not be null");
        return request -> {
            String id = client.apply(request);
            return id == null ? "anonymous" : "client:" + id;
        };
    }
}
