package org.idempotency.servlet;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The application behind the filter in the tests: each path behaves in one way (a created order, a chosen
 * status, a slow call, a streamed body...) and counts how often it ran.
 */
final class TestHandler extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private final transient ConcurrentHashMap<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    final transient CountDownLatch slowEntered = new CountDownLatch(1);
    final transient CountDownLatch slowRelease = new CountDownLatch(1);

    /** How often the handler ran for a path. */
    int calls(String path) {
        AtomicInteger count = calls.get(path);
        return count == null ? 0 : count.get();
    }

    /** How often the handler ran, all paths together. */
    int totalCalls() {
        return calls.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        // the path as the container decoded and normalised it, the way applications dispatch
        String path = request.getServletPath() + (request.getPathInfo() == null ? "" : request.getPathInfo());
        int call = calls.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
        String segment = path.indexOf('/', 1) < 0 ? path : path.substring(0, path.indexOf('/', 1));
        switch (segment) {
            case "/orders" -> created(request, response, call);
            case "/status" -> {
                response.setStatus(Integer.parseInt(path.substring("/status/".length())));
                response.setContentType("text/plain");
                response.getWriter().print("status " + response.getStatus() + ", call " + call);
            }
            case "/slow" -> {
                slowEntered.countDown();
                await(slowRelease);
                created(request, response, call);
            }
            case "/stream" -> {
                int chunks = Integer.parseInt(request.getParameter("chunks"));
                response.setContentType("text/plain");
                var out = response.getOutputStream();
                for (int i = 1; i <= chunks; i++) {
                    out.write(("chunk " + i + " of call " + call + "\n").getBytes(StandardCharsets.US_ASCII));
                    response.flushBuffer();
                }
            }
            case "/writer" -> {
                response.setContentType("text/plain;charset=UTF-8");
                PrintWriter writer = response.getWriter();
                writer.print("héllo wörld ✓ call " + call);
                writer.flush();
                response.flushBuffer();
                writer.print(", the end");
            }
            case "/writer-then-type" -> {
                // the charset comes too late for the writer: the container keeps the writer's
                PrintWriter writer = response.getWriter();
                response.setContentType("text/plain; charset=UTF-8");
                writer.print("h\u00e9llo w\u00f6rld \u2713 call " + call);
            }
            case "/writer-then-encoding" -> {
                PrintWriter writer = response.getWriter();
                response.setCharacterEncoding("UTF-8");
                response.setContentType("text/plain");
                response.setLocale(java.util.Locale.JAPAN);
                writer.print("h\u00e9llo w\u00f6rld call " + call);
            }
            case "/big-writer" -> {
                int size = Integer.parseInt(request.getParameter("size"));
                response.setContentType("text/plain;charset=UTF-8");
                PrintWriter writer = response.getWriter();
                for (int written = 0; written < size; written += 2) {
                    writer.print('\u00e9'); // two bytes in UTF-8
                    if (written % 10_000 == 0) {
                        response.flushBuffer();
                    }
                }
            }
            case "/big" -> {
                int size = Integer.parseInt(request.getParameter("size"));
                String status = request.getParameter("status");
                response.setStatus(status == null ? 200 : Integer.parseInt(status));
                response.setContentType("application/octet-stream");
                byte[] chunk = new byte[1000];
                java.util.Arrays.fill(chunk, (byte) ('a' + call % 26));
                var out = response.getOutputStream();
                for (int written = 0; written < size; written += chunk.length) {
                    out.write(chunk, 0, Math.min(chunk.length, size - written));
                }
            }
            case "/send-error" -> response.sendError(404, "no order here (call " + call + ")");
            case "/redirect" -> response.sendRedirect("/orders/42?call=" + call);
            case "/throw" -> throw new IllegalStateException("the handler failed on call " + call);
            case "/form" -> {
                response.setContentType("text/plain;charset=UTF-8");
                response.getWriter().print("a=" + request.getParameter("a") + " b=" + request.getParameter("b")
                        + " q=" + request.getParameter("q") + " call " + call);
            }
            case "/reset" -> {
                response.setStatus(500);
                response.getWriter().print("discarded");
                response.resetBuffer();
                response.setStatus(201);
                response.getWriter().print("kept, call " + call);
            }
            case "/echo" -> {
                String body = request.getReader().lines().collect(java.util.stream.Collectors.joining("\n"));
                response.setContentType("text/plain;charset=UTF-8");
                response.getWriter().print(body + " (" + request.getContentLength() + " bytes, call " + call + ")");
            }
            case "/closed" -> {
                response.setContentType("text/plain");
                try (var out = response.getOutputStream()) {
                    out.write(("closed early, call " + call).getBytes(StandardCharsets.US_ASCII));
                }
            }
            default -> response.sendError(404);
        }
    }

    private static void created(HttpServletRequest request, HttpServletResponse response, int call)
            throws IOException {
        byte[] body = request.getInputStream().readAllBytes();
        Principal user = request.getUserPrincipal();
        response.setStatus(201);
        response.setContentType("application/json");
        response.setHeader("Location", "/orders/" + call);
        response.setHeader("ETag", "\"v" + call + "\"");
        response.setHeader("X-Request-Id", "request-" + call);
        response.getOutputStream().write(("{\"call\":" + call
                + ",\"key\":\"" + request.getAttribute(IdempotencyFilter.KEY_ATTRIBUTE)
                + "\",\"user\":\"" + (user == null ? "" : user.getName())
                + "\",\"bodyBytes\":" + body.length + "}").getBytes(StandardCharsets.UTF_8));
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test did not release the slow handler within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
