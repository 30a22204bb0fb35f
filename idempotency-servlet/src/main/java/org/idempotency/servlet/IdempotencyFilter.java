package org.idempotency.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntPredicate;
import java.util.function.Predicate;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.core.RequestHashes;
import org.idempotency.servlet.internal.BufferedRequest;
import org.idempotency.servlet.internal.CapturingResponse;
import org.idempotency.servlet.internal.KeyHeader;
import org.idempotency.servlet.internal.Problem;
import org.idempotency.servlet.internal.RequestTarget;
import org.idempotency.servlet.internal.StoredResponse;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A servlet filter with the semantics of the IETF {@code Idempotency-Key} header
 * (draft-ietf-httpapi-idempotency-key-header) and Stripe's public behaviour: the first request with a key runs
 * and its response is stored; a retry with the same key and the same request gets the stored response, marked
 * {@code Idempotent-Replayed: true}, without running the handler again.
 *
 * <pre>{@code
 * IdempotencyFilter filter = IdempotencyFilter.builder(idempotency)
 *         .operation("orders-api")
 *         .replayHeaders("ETag")
 *         .build();
 * }</pre>
 *
 * <p>For requests whose method it covers (all but GET, HEAD, OPTIONS and TRACE by default):
 * <ul>
 *   <li>no key: passes the request through, or answers {@code 400} if the key is required for it;</li>
 *   <li>a malformed key (empty, too long, unbalanced quotes, not an sf-string nor a bare token, several
 *       {@code Idempotency-Key} fields): {@code 400}, naming the broken rule;</li>
 *   <li>a request body over the limit: {@code 413}, nothing run or stored;</li>
 *   <li>a request the {@link RequestFingerprint} refuses (such as hostile JSON): {@code 400}, nothing run;</li>
 *   <li>the key used before with another method or path (as the container normalised it), or with a different
 *       request by the {@link RequestFingerprint}: {@code 422};</li>
 *   <li>the first request with the key still running: {@code 409} with a {@code Retry-After} of
 *       {@link Builder#inProgressRetryAfter} (one second by default), or, if the engine is built with
 *       {@code waitForInProgress}, a bounded wait and then the replay;</li>
 *   <li>otherwise the handler runs on a buffered response. Its whole response is held back until it returns;
 *       then a status the storage policy accepts (by default every status below 500 except those that say the
 *       request was not acted on: 401, 407, 408, 409, 412, 423, 425, 428, 429) is stored and the key closed
 *       before the response is sent, so an immediate retry is replayed; any other status, or an exception,
 *       releases the key so a retry runs again. A response over the buffer limit is sent as it is written,
 *       in full, and its record closed without it (the work is not run again), or its key released if its
 *       status is not one the policy stores; a response the engine cannot keep (over its
 *       {@code maxResultBytes}) is sent, and its record closed without it. Replays of a record closed without
 *       its response get {@code 409}.</li>
 * </ul>
 * Errors are {@code application/problem+json} bodies (RFC 9457). Keys are scoped by an
 * {@link IdempotencyScope} (by default the authenticated principal), so one client never receives another's
 * response. A store failure answers {@code 503} with a {@code Retry-After} of
 * {@link Builder#unavailableRetryAfter} (unless the engine fails open).
 *
 * <p>Every execution the filter begins is finished on every path: completed, closed without its response,
 * or released, whatever throws (the handler, the storage policy, the capture, the engine's codec, an
 * {@link Error}); after the handler returned, a fault of the filter's own closes the record without the
 * response when its status is one to store, so the work is not run again.
 *
 * <p>Clocks: the filter reads no store time. Its {@code Retry-After} values are the configured durations,
 * never computed from a lease; lease and expiry decisions are the engine's, on the store's clock.
 *
 * <p>Register it for {@code REQUEST} dispatches, without async support: asynchronous handlers and multipart
 * parsing by the container ({@code getParts()}, which reads the container's stream, already consumed by the
 * filter) are not supported behind it. The filter does not close the engine.
 *
 * <p>Thread-safe: one instance serves every request.
 */
public final class IdempotencyFilter implements Filter {

    /** The request header that carries the key. */
    public static final String HEADER = "Idempotency-Key";
    /** The response header that marks a replayed response. */
    public static final String REPLAYED_HEADER = "Idempotent-Replayed";
    /**
     * The request attribute holding the client's key (unquoted) while the handler runs, for handlers that
     * pass it on (to a payment provider, or to {@code Idempotency} at the business layer).
     */
    public static final String KEY_ATTRIBUTE = "org.idempotency.servlet.IdempotencyKey";

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyFilter.class);
    private static final String APPLIED = IdempotencyFilter.class.getName() + ".applied";

    private final Idempotency engine;
    private final IdempotentOperation<StoredResponse> operation;
    private final Set<String> skipMethods;
    private final Predicate<HttpServletRequest> keyRequired;
    private final int maxKeyLength;
    private final IdempotencyScope scope;
    private final RequestFingerprint fingerprint;
    private final IntPredicate storedStatuses;
    private final List<String> replayHeaders;
    private final int maxRequestBytes;
    private final int maxResponseBytes;
    private final long inProgressRetryAfterSeconds;
    private final long unavailableRetryAfterSeconds;
    private final @Nullable String problemTypeBase;

    private IdempotencyFilter(Builder b) {
        this.engine = b.engine;
        this.operation = b.engine.operation(b.operation, StoredResponse.class);
        this.skipMethods = Set.copyOf(b.skipMethods);
        this.keyRequired = b.keyRequired;
        this.maxKeyLength = b.maxKeyLength;
        this.scope = b.scope;
        this.fingerprint = b.fingerprint;
        this.storedStatuses = b.storedStatuses;
        this.replayHeaders = List.copyOf(b.replayHeaders);
        this.maxRequestBytes = b.maxRequestBytes;
        this.maxResponseBytes = b.maxResponseBytes;
        this.inProgressRetryAfterSeconds = ceilSeconds(b.inProgressRetryAfter);
        this.unavailableRetryAfterSeconds = ceilSeconds(b.unavailableRetryAfter);
        this.problemTypeBase = b.problemTypeBase;
    }

    /**
     * Starts configuring a filter over an engine (its store, lease, retention and in-progress wait).
     *
     * @param engine the engine whose operation holds the filter's records
     * @return a new builder
     */
    public static Builder builder(Idempotency engine) {
        return new Builder(engine);
    }

    /**
     * The operation whose namespace holds this filter's records.
     *
     * @return the operation name
     */
    public String operation() {
        return operation.name();
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        if (!(req instanceof HttpServletRequest request) || !(res instanceof HttpServletResponse response)
                || skipMethods.contains(request.getMethod().toUpperCase(Locale.ROOT))
                || request.getAttribute(APPLIED) != null) {
            chain.doFilter(req, res);
            return;
        }
        request.setAttribute(APPLIED, Boolean.TRUE);

        List<String> values = headerValues(request);
        if (values.isEmpty()) {
            if (keyRequired.test(request)) {
                problem(response, new Problem(400, "idempotency-key-missing", "Idempotency-Key is missing",
                        "This operation requires an Idempotency-Key header; send a new unique key (a UUID) with"
                                + " each new request, and the same key when retrying it.", 0));
                return;
            }
            chain.doFilter(request, response);
            return;
        }
        String key;
        try {
            if (values.size() > 1) {
                throw new KeyHeader.MalformedKey("the request must carry one " + HEADER + " field, it carried "
                        + values.size());
            }
            key = KeyHeader.parse(values.get(0), maxKeyLength);
        } catch (KeyHeader.MalformedKey e) {
            problem(response, new Problem(400, "idempotency-key-malformed", "Idempotency-Key is malformed",
                    "Malformed " + HEADER + " header: " + e.getMessage() + ".", 0));
            return;
        }

        byte[] body = readBody(request);
        if (body == null) {
            problem(response, new Problem(413, "request-too-large", "Request too large for idempotent processing",
                    "The request body exceeds the limit of " + maxRequestBytes + " bytes for requests with an "
                            + HEADER + "; it was not processed.", 0));
            return;
        }
        BufferedRequest buffered = new BufferedRequest(request, body);
        String requestHash;
        try {
            requestHash = requestHash(buffered, fingerprint.fingerprint(buffered, body));
        } catch (IllegalArgumentException e) {
            // the message names the rule; it is the client's own request, never logged
            problem(response, new Problem(400, "request-malformed", "Request malformed for idempotent processing",
                    "The request could not be fingerprinted for its " + HEADER + ": " + e.getMessage()
                            + "; it was not processed.", 0));
            return;
        }
        String storedKey = scopedKey(scope.scopeOf(request), key);

        Execution<StoredResponse> execution;
        try {
            execution = operation.begin(storedKey, requestHash);
        } catch (IdempotencyException e) {
            problem(response, problemFor(e));
            return;
        }
        if (execution.isReplay()) {
            LOG.debug("Replaying the stored response: operation={} status={}", operation.name(),
                    execution.replayedResult().status());
            replay(execution.replayedResult(), response);
            return;
        }
        try {
            buffered.setAttribute(KEY_ATTRIBUTE, key);
            run(execution, buffered, response, chain);
        } finally {
            execution.close(); // the last resort: releases the key if no path above could finish the execution
        }
    }

    private void run(Execution<StoredResponse> execution, BufferedRequest request, HttpServletResponse response,
            FilterChain chain) throws IOException, ServletException {
        CapturingResponse capture = new CapturingResponse(response, maxResponseBytes);
        try {
            chain.doFilter(request, capture);
            capture.finish();
        } catch (Throwable error) {
            try {
                execution.abandon(error);
            } catch (Throwable abandonFailed) { // the caller's finally still closes the execution
                error.addSuppressed(abandonFailed);
            }
            throw error;
        }
        // the handler returned: the work ran. Whatever fails from here on must not leave the record open.
        int status = capture.getStatus();
        Boolean keep = null;
        boolean finishing = false;
        try {
            keep = stores(status);
            if (request.isAsyncStarted()) {
                LOG.warn("A handler behind IdempotencyFilter (operation={}) started asynchronous processing, which"
                        + " the filter cannot capture; the key is released and the response is not stored."
                        + " Register the filter without async support.", operation.name());
                finishing = true;
                execution.release();
                return;
            }
            if (capture.passedThrough()) {
                LOG.debug("The response of operation={} outgrew the buffer of {} bytes and was sent as written;"
                        + " it is not kept", operation.name(), maxResponseBytes);
                finishing = true;
                if (keep) {
                    execution.completeWithoutResult(status);
                } else {
                    execution.release();
                }
                return;
            }
            if (response.isCommitted()) {
                LOG.warn("A handler behind IdempotencyFilter (operation={}) wrote to the unwrapped response; the"
                        + " record is closed without a stored response", operation.name());
                finishing = true;
                execution.completeWithoutResult(response.getStatus());
                return;
            }
            if (!keep) {
                LOG.debug("Status {} is not stored; releasing the key of operation={}", status, operation.name());
                finishing = true;
                execution.release();
                capture.commit();
                return;
            }
            StoredResponse stored = capture.toStored(replayHeaders);
            finishing = true;
            execution.complete(stored, status);
            capture.commit();
        } catch (Throwable fault) {
            if (!finishing) {
                try {
                    finishAfterFault(execution, status, keep == null ? Builder.storedByDefault(status) : keep, fault);
                } catch (Throwable finishFailed) { // the caller's finally still closes the execution
                    fault.addSuppressed(finishFailed);
                }
            }
            throw fault;
        }
    }

    /**
     * The filter failed after the handler returned, before finishing the execution. The work ran: a response the
     * policy would keep closes the record without it, so a retry is not run again ({@code 409}); any other is
     * released, as it would have been.
     */
    private void finishAfterFault(Execution<StoredResponse> execution, int status, boolean keep, Throwable fault) {
        LOG.warn("IdempotencyFilter failed after the handler of operation={} returned status {}; {}: {}",
                operation.name(), status, keep ? "the record is closed without its response"
                        : "the key is released", fault.toString());
        if (keep) {
            execution.completeWithoutResult(status);
        } else {
            execution.release();
        }
    }

    /** The storage policy's answer; a policy that throws is reported, and the default policy decides. */
    private boolean stores(int status) {
        try {
            return storedStatuses.test(status);
        } catch (RuntimeException e) {
            LOG.warn("The storedStatuses policy of operation={} threw for status {}; the default policy decides",
                    operation.name(), status, e);
            return Builder.storedByDefault(status);
        }
    }

    /**
     * The request hash stored with the key: the method and the normalised path, always, so a key is never run
     * again on another endpoint or under another spelling of its path, and the fingerprint when there is one.
     */
    private static String requestHash(HttpServletRequest request, @Nullable String fingerprint) {
        MessageDigest digest = newSha256();
        update(digest, RequestHashes.wtf8(RequestTarget.method(request)));
        update(digest, RequestHashes.wtf8(RequestTarget.path(request)));
        if (fingerprint == null) {
            digest.update((byte) 0);
        } else {
            digest.update((byte) 1);
            update(digest, RequestHashes.wtf8(fingerprint));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void update(MessageDigest digest, byte[] part) {
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(part.length).array());
        digest.update(part);
    }

    private void replay(StoredResponse stored, HttpServletResponse response) throws IOException {
        response.setHeader(REPLAYED_HEADER, "true");
        stored.headers().forEach((name, values) -> {
            if (name.equalsIgnoreCase("Content-Type")) {
                response.setContentType(values.get(0));
            } else {
                values.forEach(value -> response.addHeader(name, value));
            }
        });
        switch (stored.kind()) {
            case SEND_ERROR -> {
                if (stored.argument() == null) {
                    response.sendError(stored.status());
                } else {
                    response.sendError(stored.status(), stored.argument());
                }
            }
            case REDIRECT -> response.sendRedirect(Objects.requireNonNull(stored.argument(), "redirect location"));
            default -> {
                response.setStatus(stored.status());
                response.setContentLength(stored.body().length);
                if (stored.body().length > 0) {
                    response.getOutputStream().write(stored.body());
                }
            }
        }
    }

    private Problem problemFor(IdempotencyException e) {
        if (e instanceof IdempotencyKeyReusedException) {
            return new Problem(422, "idempotency-key-reused", "Idempotency-Key is already used",
                    "This " + HEADER + " was already used with a different request (method, path or body); send"
                            + " a new key for a new request.", 0);
        }
        if (e instanceof IdempotencyInProgressException) {
            // not the lease's end: the first request most likely answers well before, and a retry then replays it
            long seconds = inProgressRetryAfterSeconds;
            return new Problem(409, "request-in-progress", "A request is outstanding for this Idempotency-Key",
                    "A request with the same " + HEADER + " is still being processed; retry after " + seconds
                            + " s with the same key to get its response.", seconds);
        }
        if (e instanceof IdempotencyResultNotKeptException) {
            return new Problem(409, "response-not-kept", "The response for this Idempotency-Key was not kept",
                    "The request with this " + HEADER + " was processed, but its response was too large to keep,"
                            + " so it cannot be replayed; the request is not processed again.", 0);
        }
        if (e instanceof IdempotencyReplayedFailureException) {
            return new Problem(e.httpStatus(), "request-failed", "The request for this Idempotency-Key failed",
                    "The request with this " + HEADER + " failed permanently earlier; send a new key to try"
                            + " again.", 0);
        }
        if (e instanceof IdempotencyStoreException) {
            // the engine has logged the store fault
            long seconds = unavailableRetryAfterSeconds;
            return new Problem(503, "idempotency-unavailable", "Idempotency check unavailable",
                    "The request was not processed because its " + HEADER + " could not be checked; retry after "
                            + seconds + " s with the same key.", seconds);
        }
        LOG.warn("Idempotency failure for operation={}: {}", operation.name(), e.getMessage());
        return new Problem(e.httpStatus(), "idempotency-error", "Idempotency error",
                "The request could not be processed idempotently; retry later with the same key.",
                e.httpStatus() == 503 ? unavailableRetryAfterSeconds : 0);
    }

    private void problem(HttpServletResponse response, Problem problem) throws IOException {
        LOG.debug("Answering {} {} for operation={}", problem.status(), problem.code(), operation.name());
        problem.write(response, problemTypeBase);
    }

    /** The body, or {@code null} if it exceeds the limit. */
    private byte @Nullable [] readBody(HttpServletRequest request) throws IOException {
        if (request.getContentLengthLong() > maxRequestBytes) {
            return null;
        }
        InputStream in = request.getInputStream();
        byte[] body = in.readNBytes(maxRequestBytes + 1);
        return body.length > maxRequestBytes ? null : body;
    }

    private static List<String> headerValues(HttpServletRequest request) {
        Enumeration<String> headers = request.getHeaders(HEADER);
        return headers == null ? List.of() : Collections.list(headers);
    }

    /**
     * The core key for a client key within a scope: the scope's SHA-256 (43 base64url characters) and the
     * key, joined by {@code ':'}; a key too long for the core's limit is replaced by its SHA-256 and joined by
     * {@code '#'} instead, so the two forms never meet and any key the filter accepts fits.
     */
    static String scopedKey(String scope, String key) {
        // WTF-8: two scopes that differ only by a lone surrogate and a '?' stay apart
        String digest = Base64.getUrlEncoder().withoutPadding().encodeToString(
                newSha256().digest(RequestHashes.wtf8(scope)));
        if (digest.length() + 1 + key.length() <= IdempotencyKeys.MAX_KEY_BYTES) { // keys are ASCII
            return digest + ':' + key;
        }
        return digest + '#' + RequestHashes.sha256(key);
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    private static long ceilSeconds(Duration duration) {
        long seconds = duration.getSeconds();
        return Math.max(1, duration.getNano() > 0 ? seconds + 1 : seconds);
    }

    /**
     * Configures an {@link IdempotencyFilter}. Each setter validates its argument. Not thread-safe.
     */
    public static final class Builder {
        /** Statuses saying the request was not acted on, or may succeed as sent later: never stored by default. */
        private static final Set<Integer> NOT_ACTED_ON = Set.of(401, 407, 408, 409, 412, 423, 425, 428, 429);

        private final Idempotency engine;
        private String operation = "http";
        private Set<String> skipMethods = Set.of("GET", "HEAD", "OPTIONS", "TRACE");
        private Predicate<HttpServletRequest> keyRequired = request -> false;
        private int maxKeyLength = 255;
        private IdempotencyScope scope = IdempotencyScope.principal();
        private RequestFingerprint fingerprint = RequestFingerprint.methodPathAndBody();
        private IntPredicate storedStatuses = Builder::storedByDefault;
        private final Set<String> replayHeaders = new LinkedHashSet<>(List.of("Content-Type", "Location"));
        private int maxRequestBytes = 1024 * 1024;
        private int maxResponseBytes = 1024 * 1024;
        private Duration inProgressRetryAfter = Duration.ofSeconds(1);
        private Duration unavailableRetryAfter = Duration.ofSeconds(5);
        private @Nullable String problemTypeBase;

        private Builder(Idempotency engine) {
            this.engine = Objects.requireNonNull(engine, "engine must not be null");
        }

        /**
         * The operation name that namespaces this filter's records in the store (default {@code http}):
         * 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}. Give each filter instance its own.
         *
         * @param operation the operation name
         * @return this builder
         * @throws org.idempotency.api.InvalidIdempotencyKeyException if the name breaks the rule
         */
        public Builder operation(String operation) {
            this.operation = IdempotencyKeys.validateOperation(operation);
            return this;
        }

        /**
         * The methods that pass through untouched, replacing the default GET, HEAD, OPTIONS and TRACE (the
         * methods that are idempotent by definition, except PUT and DELETE, which a key still protects).
         *
         * @param methods the method names, in any case
         * @return this builder
         * @throws IllegalArgumentException if a method is blank
         */
        public Builder skipMethods(String... methods) {
            Set<String> out = new TreeSet<>();
            for (String method : methods) {
                Objects.requireNonNull(method, "a method must not be null");
                if (method.isBlank()) {
                    throw new IllegalArgumentException("a method must not be blank");
                }
                out.add(method.trim().toUpperCase(Locale.ROOT));
            }
            this.skipMethods = out;
            return this;
        }

        /**
         * Whether every covered request must carry a key (default false: requests without one pass through).
         *
         * @param required whether the key is required
         * @return this builder
         */
        public Builder keyRequired(boolean required) {
            this.keyRequired = request -> required;
            return this;
        }

        /**
         * Which covered requests must carry a key, by method, path or anything else of the request.
         *
         * @param required whether a request must carry a key
         * @return this builder
         */
        public Builder keyRequired(Predicate<HttpServletRequest> required) {
            this.keyRequired = Objects.requireNonNull(required, "keyRequired must not be null");
            return this;
        }

        /**
         * The longest key accepted, in characters (default 255, as Stripe; at most 1,024).
         *
         * @param maxKeyLength 1 to 1,024
         * @return this builder
         */
        public Builder maxKeyLength(int maxKeyLength) {
            if (maxKeyLength < 1 || maxKeyLength > 1024) {
                throw new IllegalArgumentException("maxKeyLength must be 1 to 1024, was " + maxKeyLength);
            }
            this.maxKeyLength = maxKeyLength;
            return this;
        }

        /**
         * Which clients share a key namespace (default {@link IdempotencyScope#principal()}).
         *
         * @param scope the scope of a request
         * @return this builder
         */
        public Builder scope(IdempotencyScope scope) {
            this.scope = Objects.requireNonNull(scope, "scope must not be null");
            return this;
        }

        /**
         * The request hash checked on every repeat, besides the method and path that are always checked
         * (default {@link RequestFingerprint#methodPathAndBody()}).
         *
         * @param fingerprint the fingerprint of a request
         * @return this builder
         */
        public Builder fingerprint(RequestFingerprint fingerprint) {
            this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint must not be null");
            return this;
        }

        /**
         * Which response statuses are stored and replayed; any other releases the key, so a retry runs the
         * handler again. The default, like Stripe, keeps no answer to a request that was not acted on: it stores
         * every status below 500 except 401 and 407 (credentials missing), 408 (Request Timeout), 409 (Conflict),
         * 412 and 428 (a precondition failed or is missing), 423 (Locked), 425 (Too Early) and 429 (Too Many
         * Requests). A policy that throws is logged and the default decides.
         *
         * @param storedStatuses whether a response status is stored
         * @return this builder
         */
        public Builder storedStatuses(IntPredicate storedStatuses) {
            this.storedStatuses = Objects.requireNonNull(storedStatuses, "storedStatuses must not be null");
            return this;
        }

        /**
         * Response headers replayed besides Content-Type and Location (such as ETag or a request id).
         *
         * @param names header names
         * @return this builder
         * @throws IllegalArgumentException if a name is not a header name, or names a header the filter or the
         *     container sets
         */
        public Builder replayHeaders(String... names) {
            for (String name : names) {
                Objects.requireNonNull(name, "a header name must not be null");
                if (name.isBlank() || !name.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ':')) {
                    throw new IllegalArgumentException("'" + name + "' is not a header name");
                }
                if (name.equalsIgnoreCase(REPLAYED_HEADER) || name.equalsIgnoreCase("Content-Length")
                        || name.equalsIgnoreCase("Transfer-Encoding")) {
                    throw new IllegalArgumentException("the header " + name + " is set by the filter or the"
                            + " container and cannot be replayed");
                }
                replayHeaders.add(name.trim());
            }
            return this;
        }

        /**
         * The largest request body buffered (default 1 MiB); a larger one is answered with 413.
         *
         * @param maxRequestBytes the limit, in bytes
         * @return this builder
         */
        public Builder maxRequestBytes(int maxRequestBytes) {
            this.maxRequestBytes = bytes("maxRequestBytes", maxRequestBytes);
            return this;
        }

        /**
         * The largest response body buffered (default 1 MiB). A larger one is sent to the client as it is
         * written, in full, and its record closed without it (or its key released, for a status that is not
         * stored). What the engine keeps is bounded by its own {@code maxResultBytes}, counted on the encoded
         * record (the default JSON codec stores the body as base64, a third larger).
         *
         * @param maxResponseBytes the limit, in bytes
         * @return this builder
         */
        public Builder maxResponseBytes(int maxResponseBytes) {
            this.maxResponseBytes = bytes("maxResponseBytes", maxResponseBytes);
            return this;
        }

        /**
         * The {@code Retry-After} of the {@code 409} sent while the first request with a key still runs (default
         * one second, rounded up to whole seconds): about when that request is expected to have answered, so
         * the retry gets its response. It is not derived from the lease, which only says when a crashed
         * owner's key could be taken over.
         *
         * @param retryAfter 1 ms to 1 day
         * @return this builder
         */
        public Builder inProgressRetryAfter(Duration retryAfter) {
            this.inProgressRetryAfter = retryAfter("inProgressRetryAfter", retryAfter);
            return this;
        }

        /**
         * The {@code Retry-After} of the {@code 503} sent when the store cannot be reached (default five
         * seconds, rounded up to whole seconds).
         *
         * @param retryAfter 1 ms to 1 day
         * @return this builder
         */
        public Builder unavailableRetryAfter(Duration retryAfter) {
            this.unavailableRetryAfter = retryAfter("unavailableRetryAfter", retryAfter);
            return this;
        }

        /**
         * A URI prefix for the {@code type} of problem responses, such as the application's documentation
         * ({@code https://api.example.com/problems/}); the problem code is appended. Without it the type is
         * {@code about:blank}.
         *
         * @param problemTypeBase an absolute URI
         * @return this builder
         * @throws IllegalArgumentException if it is not an absolute URI
         */
        public Builder problemTypeBase(String problemTypeBase) {
            Objects.requireNonNull(problemTypeBase, "problemTypeBase must not be null");
            try {
                if (!new URI(problemTypeBase).isAbsolute()) {
                    throw new IllegalArgumentException("problemTypeBase must be an absolute URI, was '"
                            + problemTypeBase + "'");
                }
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("problemTypeBase is not a URI: " + e.getMessage(), e);
            }
            this.problemTypeBase = problemTypeBase;
            return this;
        }

        /**
         * Builds the filter.
         *
         * @return a new filter
         */
        public IdempotencyFilter build() {
            return new IdempotencyFilter(this);
        }

        private static int bytes(String name, int value) {
            if (value < 1 || value > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException(name + " must be positive, was " + value);
            }
            return value;
        }

        private static Duration retryAfter(String name, Duration value) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.compareTo(Duration.ofMillis(1)) < 0 || value.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException(name + " must be 1 ms to 1 day, was " + value);
            }
            return value;
        }

        static boolean storedByDefault(int status) {
            return status < 500 && !NOT_ACTED_ON.contains(status);
        }
    }
}
