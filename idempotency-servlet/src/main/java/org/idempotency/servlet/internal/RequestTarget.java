package org.idempotency.servlet.internal;

import jakarta.servlet.http.HttpServletRequest;
import java.util.Locale;

/**
 * The method and path of a request as the container understood them, so that a key is bound to the endpoint it
 * was first used on whatever the spelling: the method in upper case, and the context path followed by the
 * servlet path and path info, which the container has percent-decoded and normalised ({@code /./}, {@code ..},
 * path parameters such as {@code ;p=1} removed; Servlet 6.0, section 3.5). Stateless and thread-safe.
 */
public final class RequestTarget {

    private RequestTarget() {
    }

    /**
     * The request method in upper case, as the filter compares methods.
     *
     * @param request the request
     * @return the method, such as {@code POST}
     */
    public static String method(HttpServletRequest request) {
        return request.getMethod().toUpperCase(Locale.ROOT);
    }

    /**
     * The decoded, normalised path of the request within the server.
     *
     * @param request the request
     * @return the context path, servlet path and path info, joined
     */
    public static String path(HttpServletRequest request) {
        String pathInfo = request.getPathInfo();
        return request.getServletContext().getContextPath() + request.getServletPath()
                + (pathInfo == null ? "" : pathInfo);
    }
}
