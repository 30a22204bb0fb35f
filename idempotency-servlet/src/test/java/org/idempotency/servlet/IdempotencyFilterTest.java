package org.idempotency.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.JsonFingerprint;
import org.idempotency.testkit.FaultInjectingStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The filter over a real embedded Jetty 12, driven by {@code java.net.http.HttpClient}. */
class IdempotencyFilterTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = IdempotencyFilter.HEADER;
    static final String ORDER = "{\"product\":\"book\",\"quantity\":1}";

    final TestHandler handler = new TestHandler();
    final FaultInjectingStore store = FaultInjectingStore.wrap(InMemoryIdempotencyStore.create());
    final List<IdempotencyEvent> events = new CopyOnWriteArrayList<>();
    Idempotency engine;
    JettyHarness jetty;

    JettyHarness serve(UnaryOperator<IdempotencyFilter.Builder> filter) throws Exception {
        return serve(Idempotency.builder(store), filter);
    }

    JettyHarness serve(Idempotency.Builder engineBuilder, UnaryOperator<IdempotencyFilter.Builder> filter)
            throws Exception {
        engine = engineBuilder.listener(events::add).build();
        jetty = JettyHarness.start(filter.apply(IdempotencyFilter.builder(engine)).build(), handler);
        return jetty;
    }

    @AfterEach
    void stop() throws Exception {
        handler.slowRelease.countDown();
        try {
            assertEveryExecutionFinished();
        } finally {
            if (jetty != null) {
                jetty.close();
            }
            if (engine != null) {
                engine.close();
            }
        }
    }

    /** Every execution the filter began was completed, closed without its response, or released. */
    void assertEveryExecutionFinished() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (unfinished() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(20); // a response sent as it was written is closed once the handler returns
        }
        assertThat(unfinished()).as("executions begun but never finished, in %s", events).isZero();
    }

    private long unfinished() {
        long begun = events.stream().filter(e -> e.type() == IdempotencyEvent.Type.ACQUIRED
                || e.type() == IdempotencyEvent.Type.TAKEOVER).count();
        // replays report RESULT_NOT_KEPT too, without a fencing token
        long finished = events.stream().filter(e -> e.fencingToken() > 0 && switch (e.type()) {
            case COMPLETED, RESULT_NOT_KEPT, FAILURE_RECORDED, RELEASED -> true;
            default -> false;
        }).count();
        return begun - finished;
    }

    static String newKey() {
        return "\"" + UUID.randomUUID() + "\"";
    }

    static JsonNode problem(HttpResponse<String> response, int status) throws IOException {
        assertThat(response.statusCode()).as("status of %s", response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        JsonNode problem = JSON.readTree(response.body());
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("type").asText()).isEqualTo("about:blank");
        assertThat(problem.get("title").asText()).isNotBlank();
        assertThat(response.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).isEmpty();
        return problem;
    }

    /** The body decoded in the charset its Content-Type names (ISO-8859-1 if none, as HTTP/1.1 had it). */
    static String text(HttpResponse<byte[]> response) {
        String type = response.headers().firstValue("Content-Type").orElse("");
        int at = type.toLowerCase(java.util.Locale.ROOT).indexOf("charset=");
        java.nio.charset.Charset charset = at < 0 ? StandardCharsets.ISO_8859_1
                : java.nio.charset.Charset.forName(type.substring(at + "charset=".length()).split(";")[0].trim());
        return new String(response.body(), charset);
    }

    static void assertReplayed(HttpResponse<String> replay, HttpResponse<String> first) {
        assertThat(replay.statusCode()).isEqualTo(first.statusCode());
        assertThat(replay.body()).isEqualTo(first.body());
        assertThat(replay.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).hasValue("true");
        assertThat(first.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).isEmpty();
    }

    @Nested
    @DisplayName("a request with a key")
    class FirstRequestAndReplay {

        @Test
        @DisplayName("runs once; its retry gets the stored status, body and allow-listed headers")
        void replaysTheStoredResponse() throws Exception {
            serve(filter -> filter.replayHeaders("ETag"));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(201);
            assertThat(first.body()).contains("\"call\":1").contains("\"key\":\"" + key.replace("\"", "") + "\"");
            assertReplayed(retry, first);
            assertThat(retry.headers().firstValue("Content-Type")).isEqualTo(first.headers().firstValue("Content-Type"));
            assertThat(retry.headers().firstValue("Location")).hasValue("/orders/1");
            assertThat(retry.headers().firstValue("ETag")).hasValue("\"v1\"");
            assertThat(first.headers().firstValue("X-Request-Id")).hasValue("request-1");
            assertThat(retry.headers().firstValue("X-Request-Id")).as("not allow-listed").isEmpty();
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }

        @Test
        @DisplayName("accepts the draft's sf-string and a bare token as the same key")
        void quotedAndBareFormsAreTheSameKey() throws Exception {
            serve(filter -> filter);
            String bare = UUID.randomUUID().toString();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, bare));
            HttpResponse<String> quoted = jetty.send(jetty.post("/orders", ORDER).header(KEY, "\"" + bare + "\""));

            assertThat(first.statusCode()).isEqualTo(201);
            assertReplayed(quoted, first);
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }

        @Test
        @DisplayName("unescapes a quoted key and keeps keys of up to 255 characters, stored under a fixed-size key")
        void longAndEscapedKeys() throws Exception {
            serve(filter -> filter);
            String longKey = "k".repeat(255);
            String escaped = "\"a \\\"quoted\\\" key with \\\\ and spaces\"";

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, longKey));
            HttpResponse<String> retry = jetty.send(jetty.post("/orders", ORDER).header(KEY, "\"" + longKey + "\""));
            HttpResponse<String> other = jetty.send(jetty.post("/orders", ORDER).header(KEY, escaped));

            assertThat(first.statusCode()).isEqualTo(201);
            assertReplayed(retry, first);
            assertThat(other.statusCode()).isEqualTo(201);
            assertThat(other.body()).contains("\"call\":2");
            assertThat(handler.calls("/orders")).isEqualTo(2);
        }

        @Test
        @DisplayName("replays a body streamed through getOutputStream with flushBuffer calls in between")
        void streamedBody() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/stream?chunks=50", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/stream?chunks=50", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.body()).startsWith("chunk 1 of call 1\n").endsWith("chunk 50 of call 1\n");
            assertThat(first.body().lines()).hasSize(50);
            assertReplayed(retry, first);
            assertThat(handler.calls("/stream")).isEqualTo(1);
        }

        @Test
        @DisplayName("replays text written through getWriter in the response's charset, flushed midway")
        void writerBody() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/writer", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/writer", ORDER).header(KEY, key));

            assertThat(first.body()).isEqualTo("héllo wörld ✓ call 1, the end");
            assertThat(first.headers().firstValue("Content-Type").orElseThrow().toLowerCase())
                    .isEqualTo("text/plain;charset=utf-8");
            assertReplayed(retry, first);
            assertThat(retry.headers().firstValue("Content-Type")).isEqualTo(first.headers().firstValue("Content-Type"));
        }

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"/writer-then-type", "/writer-then-encoding"})
        @DisplayName("a charset set after getWriter is ignored as the container ignores it: header and bytes agree,"
                + " first time and on replay, as without the filter")
        void charsetAfterGetWriter(String path) throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<byte[]> unfiltered = jetty.sendForBytes(jetty.post(path, ORDER));
            HttpResponse<byte[]> first = jetty.sendForBytes(jetty.post(path, ORDER).header(KEY, key));
            HttpResponse<byte[]> retry = jetty.sendForBytes(jetty.post(path, ORDER).header(KEY, key));

            String type = unfiltered.headers().firstValue("Content-Type").orElseThrow();
            assertThat(first.headers().firstValue("Content-Type")).hasValue(type);
            assertThat(retry.headers().firstValue("Content-Type")).hasValue(type);
            assertThat(text(first)).isEqualTo(text(unfiltered).replace("call 1", "call 2"));
            assertThat(retry.body()).isEqualTo(first.body());
            assertThat(retry.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).hasValue("true");
            assertThat(handler.calls(path)).isEqualTo(2);
        }

        @Test
        @DisplayName("replays what a handler wrote after resetBuffer, and a body closed by the handler")
        void resetAndClosedBodies() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            String other = newKey();

            HttpResponse<String> reset = jetty.send(jetty.post("/reset", ORDER).header(KEY, key));
            HttpResponse<String> resetRetry = jetty.send(jetty.post("/reset", ORDER).header(KEY, key));
            HttpResponse<String> closed = jetty.send(jetty.post("/closed", ORDER).header(KEY, other));
            HttpResponse<String> closedRetry = jetty.send(jetty.post("/closed", ORDER).header(KEY, other));

            assertThat(reset.statusCode()).isEqualTo(201);
            assertThat(reset.body()).isEqualTo("kept, call 1");
            assertReplayed(resetRetry, reset);
            assertThat(closed.body()).isEqualTo("closed early, call 1");
            assertReplayed(closedRetry, closed);
        }

        @Test
        @DisplayName("replays sendError through the container, with the same status and error page")
        void sendError() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/send-error", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/send-error", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(404);
            assertThat(first.body()).contains("no order here (call 1)");
            assertReplayed(retry, first);
            assertThat(handler.calls("/send-error")).isEqualTo(1);
        }

        @Test
        @DisplayName("replays sendRedirect with the same Location")
        void sendRedirect() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/redirect", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/redirect", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(302);
            assertThat(first.headers().firstValue("Location")).hasValueSatisfying(
                    location -> assertThat(location).endsWith("/orders/42?call=1"));
            assertThat(retry.statusCode()).isEqualTo(302);
            assertThat(retry.headers().firstValue("Location")).isEqualTo(first.headers().firstValue("Location"));
            assertThat(retry.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).hasValue("true");
            assertThat(handler.calls("/redirect")).isEqualTo(1);
        }

        @Test
        @DisplayName("gives the handler the form parameters of the body it buffered")
        void formParameters() throws Exception {
            serve(filter -> filter);
            HttpRequest.Builder form = HttpRequest.newBuilder(jetty.uri("/form?q=query"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header(KEY, newKey())
                    .POST(HttpRequest.BodyPublishers.ofString("a=1+%C3%A9&b=two"));

            HttpResponse<String> response = jetty.send(form);

            assertThat(response.body()).isEqualTo("a=1 é b=two q=query call 1");
        }

        @Test
        @DisplayName("gives the handler the body it buffered, through getReader in the request's charset")
        void readerBody() throws Exception {
            serve(filter -> filter);
            HttpRequest.Builder request = HttpRequest.newBuilder(jetty.uri("/echo"))
                    .header("Content-Type", "text/plain;charset=UTF-8")
                    .header(KEY, newKey())
                    .POST(HttpRequest.BodyPublishers.ofString("thé ✓", StandardCharsets.UTF_8));

            HttpResponse<String> response = jetty.send(request);

            assertThat(response.body()).isEqualTo("thé ✓ (8 bytes, call 1)");
        }

        @Test
        @DisplayName("passes safe methods through untouched, key or not")
        void safeMethodsPassThrough() throws Exception {
            serve(filter -> filter.keyRequired(true));
            String key = newKey();

            HttpResponse<String> first = jetty.send(HttpRequest.newBuilder(jetty.uri("/orders")).header(KEY, key));
            HttpResponse<String> second = jetty.send(HttpRequest.newBuilder(jetty.uri("/orders")).header(KEY, key));
            HttpResponse<String> noKey = jetty.send(HttpRequest.newBuilder(jetty.uri("/orders")));

            assertThat(first.body()).contains("\"call\":1");
            assertThat(second.body()).contains("\"call\":2");
            assertThat(second.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).isEmpty();
            assertThat(noKey.statusCode()).isEqualTo(201);
            assertThat(handler.calls("/orders")).isEqualTo(3);
        }

        @Test
        @DisplayName("covers PUT and DELETE too, and only the methods left after skipMethods")
        void configuredMethods() throws Exception {
            serve(filter -> filter.skipMethods("GET", "HEAD", "OPTIONS", "TRACE", "DELETE"));
            String key = newKey();

            HttpResponse<String> put = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .PUT(HttpRequest.BodyPublishers.ofString(ORDER)));
            HttpResponse<String> putAgain = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .PUT(HttpRequest.BodyPublishers.ofString(ORDER)));
            HttpResponse<String> delete = jetty.send(HttpRequest.newBuilder(jetty.uri("/orders")).header(KEY, key)
                    .DELETE());
            HttpResponse<String> deleteAgain = jetty.send(HttpRequest.newBuilder(jetty.uri("/orders"))
                    .header(KEY, key).DELETE());

            assertReplayed(putAgain, put);
            assertThat(delete.body()).contains("\"call\":2");
            assertThat(deleteAgain.body()).contains("\"call\":3");
        }
    }

    @Nested
    @DisplayName("a request without a key")
    class MissingKeys {

        @Test
        @DisplayName("passes through when keys are optional (the default): the handler runs every time")
        void optional() throws Exception {
            serve(filter -> filter);

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER));
            HttpResponse<String> second = jetty.send(jetty.post("/orders", ORDER));

            assertThat(first.statusCode()).isEqualTo(201);
            assertThat(second.statusCode()).isEqualTo(201);
            assertThat(first.body()).contains("\"key\":\"null\"");
            assertThat(handler.calls("/orders")).isEqualTo(2);
        }

        @Test
        @DisplayName("is refused with 400 where the key is required, by method and path")
        void required() throws Exception {
            serve(filter -> filter.keyRequired(request -> request.getRequestURI().startsWith("/orders")));

            HttpResponse<String> refused = jetty.send(jetty.post("/orders", ORDER));
            HttpResponse<String> elsewhere = jetty.send(jetty.post("/status/201", ORDER));

            JsonNode problem = problem(refused, 400);
            assertThat(problem.get("code").asText()).isEqualTo("idempotency-key-missing");
            assertThat(problem.get("detail").asText()).contains("requires an Idempotency-Key header");
            assertThat(refused.headers().firstValue("Cache-Control")).hasValue("no-store");
            assertThat(handler.calls("/orders")).isZero();
            assertThat(elsewhere.statusCode()).isEqualTo(201);
        }

        @Test
        @DisplayName("uses the configured problem type base for the problem's type and title")
        void problemTypeBase() throws Exception {
            serve(filter -> filter.keyRequired(true).problemTypeBase("https://api.example.com/problems/"));

            HttpResponse<String> refused = jetty.send(jetty.post("/orders", ORDER));

            JsonNode problem = JSON.readTree(refused.body());
            assertThat(problem.get("type").asText()).isEqualTo("https://api.example.com/problems/idempotency-key-missing");
            assertThat(problem.get("title").asText()).isEqualTo("Idempotency-Key is missing");
        }
    }

    @Nested
    @DisplayName("a malformed Idempotency-Key header")
    class MalformedKeys {

        @ParameterizedTest(name = "[{index}] {0}")
        @ValueSource(strings = {
            "",
            "\"\"",
            "\"   \"",
            "\"unbalanced",
            "unbalanced\"",
            "\"one\", \"two\"",
            "one,two",
            "\"key\";param=1",
            "\"bad \\escape\"",
            "two words",
            "\"ends with a backslash\\"
        })
        @DisplayName("is refused with 400 naming the rule, and the handler never runs")
        void refused(String value) throws Exception {
            serve(filter -> filter);

            HttpResponse<String> response = jetty.send(jetty.post("/orders", ORDER).header(KEY, value));

            JsonNode problem = problem(response, 400);
            assertThat(problem.get("code").asText()).isEqualTo("idempotency-key-malformed");
            assertThat(problem.get("detail").asText()).startsWith("Malformed Idempotency-Key header: ");
            assertThat(handler.calls("/orders")).isZero();
        }

        @Test
        @DisplayName("is refused when longer than the limit: 256 characters by default, or the configured length")
        void tooLong() throws Exception {
            serve(filter -> filter);

            HttpResponse<String> bare = jetty.send(jetty.post("/orders", ORDER).header(KEY, "k".repeat(256)));
            HttpResponse<String> quoted = jetty.send(jetty.post("/orders", ORDER)
                    .header(KEY, "\"" + "k".repeat(256) + "\""));

            assertThat(problem(bare, 400).get("detail").asText()).contains("at most 255 characters");
            assertThat(problem(quoted, 400).get("detail").asText()).contains("at most 255 characters");
            assertThat(handler.calls("/orders")).isZero();
        }

        @Test
        @DisplayName("is refused when the request carries several Idempotency-Key fields")
        void severalFields() throws Exception {
            serve(filter -> filter);

            HttpResponse<String> response = jetty.send(jetty.post("/orders", ORDER)
                    .header(KEY, "\"one\"").header(KEY, "\"two\""));

            assertThat(problem(response, 400).get("detail").asText())
                    .contains("must carry one Idempotency-Key field, it carried 2");
            assertThat(handler.calls("/orders")).isZero();
        }

        @ParameterizedTest(name = "[{index}] raw bytes {0}")
        @ValueSource(strings = {"\"tab\there\"", "\"\u00e9\"", "caf\u00e9"})
        @DisplayName("sent as raw bytes (TAB, Latin-1) is refused by the filter with 400")
        void rawBytesRefusedByTheFilter(String value) throws Exception {
            serve(filter -> filter);

            String response = rawPost(value);

            assertThat(response).startsWith("HTTP/1.1 400").contains("application/problem+json")
                    .contains("only contain");
            assertThat(handler.calls("/orders")).isZero();
        }

        @ParameterizedTest(name = "[{index}] raw bytes {0}")
        @ValueSource(strings = {"\"a\u0001b\"", "a\u007fb", "\"a\u0000b\""})
        @DisplayName("sent as raw bytes with controls or DEL is refused with 400 by the container already")
        void rawControlsRefusedByTheContainer(String value) throws Exception {
            serve(filter -> filter);

            String response = rawPost(value);

            assertThat(response).startsWith("HTTP/1.1 400").contains("Illegal character");
            assertThat(handler.calls("/orders")).isZero();
        }

        /** Sends a POST with the header value as raw ISO-8859-1 bytes, which HttpClient would not send. */
        private String rawPost(String value) throws IOException {
            byte[] body = ORDER.getBytes(StandardCharsets.UTF_8);
            byte[] head = ("POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\nConnection: close\r\n" + KEY + ": ")
                    .getBytes(StandardCharsets.ISO_8859_1);
            try (Socket socket = new Socket(jetty.uri("/").getHost(), jetty.uri("/").getPort())) {
                socket.setSoTimeout(30_000);
                OutputStream out = socket.getOutputStream();
                out.write(head);
                out.write(value.getBytes(StandardCharsets.ISO_8859_1));
                out.write("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.write(body);
                out.flush();
                InputStream in = socket.getInputStream();
                return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            }
        }
    }

    @Nested
    @DisplayName("a key reused with a different request")
    class Fingerprints {

        @Test
        @DisplayName("is refused with 422 for another body, query string, method or path")
        void differentRequest() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> otherBody = jetty.send(jetty.post("/orders", "{\"product\":\"pen\"}").header(KEY, key));
            HttpResponse<String> otherQuery = jetty.send(jetty.post("/orders?express=true", ORDER).header(KEY, key));
            HttpResponse<String> otherMethod = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .PUT(HttpRequest.BodyPublishers.ofString(ORDER)));
            HttpResponse<String> otherPath = jetty.send(jetty.post("/orders/7/items", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(201);
            JsonNode problem = problem(otherBody, 422);
            assertThat(problem.get("code").asText()).isEqualTo("idempotency-key-reused");
            assertThat(problem.get("detail").asText()).contains("already used with a different request");
            problem(otherQuery, 422);
            problem(otherMethod, 422);
            problem(otherPath, 422);
            assertThat(handler.calls("/orders")).isEqualTo(1);
            assertThat(handler.calls("/orders/7/items")).isZero();
        }

        @ParameterizedTest(name = "[{index}] {0}: {1}")
        @CsvSource({
            "/./orders, 201", "/%6Frders, 201", "/orders;p=1, 201", "/x/../orders, 201", "/orders/, 422",
            "/Orders, 422", "/orders%2F, 400", "//orders, 400"
        })
        @DisplayName("is never run again under another spelling of the path: the container's normalised path is"
                + " the same request (a replay), any other path is another one (422), ambiguous ones the container"
                + " refuses (400)")
        void pathSpellings(String spelling, int expected) throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> again = jetty.send(HttpRequest.newBuilder(URI.create(jetty.uri("/") + spelling.substring(1)))
                    .header("Content-Type", "application/json").header(KEY, key)
                    .POST(HttpRequest.BodyPublishers.ofString(ORDER)));

            assertThat(first.statusCode()).isEqualTo(201);
            assertThat(again.statusCode()).as("answer to %s: %s", spelling, again.body()).isEqualTo(expected);
            if (again.statusCode() == 201) {
                assertReplayed(again, first);
            }
            assertThat(handler.totalCalls()).isEqualTo(1);
        }

        @Test
        @DisplayName("is refused with 422 when the body differs only by a lone surrogate where the first had '?'")
        void loneSurrogateInTheBody() throws Exception {
            serve(filter -> filter.fingerprint(RequestFingerprint.methodPathAndJson(JsonFingerprint.defaults())));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", "{\"product\":\"bo\\ud800ok\"}")
                    .header(KEY, key));
            HttpResponse<String> question = jetty.send(jetty.post("/orders", "{\"product\":\"bo?ok\"}").header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(201);
            assertThat(problem(question, 422).get("code").asText()).isEqualTo("idempotency-key-reused");
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }

        @Test
        @DisplayName("with a JSON fingerprint, a reformatted body is the same request")
        void jsonFingerprint() throws Exception {
            serve(filter -> filter.fingerprint(RequestFingerprint.methodPathAndJson(JsonFingerprint.defaults())));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> reformatted = jetty.send(jetty.post("/orders",
                    "{ \"quantity\": 1.0, \"product\": \"book\" }").header(KEY, key));
            HttpResponse<String> different = jetty.send(jetty.post("/orders",
                    "{\"quantity\":2,\"product\":\"book\"}").header(KEY, key));

            assertReplayed(reformatted, first);
            problem(different, 422);
        }

        @Test
        @DisplayName("without a fingerprint, any body with the key gets the stored response, but not another path")
        void noFingerprint() throws Exception {
            serve(filter -> filter.fingerprint(RequestFingerprint.none()));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> other = jetty.send(jetty.post("/orders?x=1", "{}").header(KEY, key));
            HttpResponse<String> otherPath = jetty.send(jetty.post("/status/201", ORDER).header(KEY, key));

            assertReplayed(other, first);
            problem(otherPath, 422);
        }
    }

    @Nested
    @DisplayName("a request the fingerprint refuses")
    class RefusedByTheFingerprint {

        @ParameterizedTest(name = "[{index}] {0}")
        @ValueSource(strings = {
            "{\"quantity\": 100e2147483647}",
            "[1e2147483648]",
            "{\"a\": {\"b\": [1.5e-2147483647]}}",
            "[1e100001]",
            "deep",
            "long number"
        })
        @DisplayName("is answered 400 when the JSON is hostile, and the handler never runs")
        void hostileJson(String json) throws Exception {
            serve(filter -> filter.fingerprint(RequestFingerprint.methodPathAndJson(JsonFingerprint.defaults())));
            String body = switch (json) {
                case "deep" -> "[".repeat(1001) + "]".repeat(1001);
                case "long number" -> "[1" + "0".repeat(1000) + "]";
                default -> json;
            };

            HttpResponse<String> response = jetty.send(jetty.post("/orders", body).header(KEY, newKey()));

            JsonNode problem = problem(response, 400);
            assertThat(problem.get("code").asText()).isEqualTo("request-malformed");
            assertThat(problem.get("detail").asText()).contains("it was not processed").contains(switch (json) {
                case "deep" -> "nesting depth";
                case "long number" -> "Number value length";
                default -> "exponent";
            });
            assertThat(handler.calls("/orders")).isZero();
        }

        @Test
        @DisplayName("a body that is not JSON at all is hashed as bytes: the handler runs, its retry is replayed")
        void notJson() throws Exception {
            serve(filter -> filter.fingerprint(RequestFingerprint.methodPathAndJson(JsonFingerprint.defaults())));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", "product=book").header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/orders", "product=book").header(KEY, key));
            HttpResponse<String> other = jetty.send(jetty.post("/orders", "product=pen").header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(201);
            assertReplayed(retry, first);
            problem(other, 422);
        }

        @Test
        @DisplayName("is answered 400 when an application fingerprint throws IllegalArgumentException")
        void applicationFingerprint() throws Exception {
            serve(filter -> filter.fingerprint((request, body) -> {
                throw new IllegalArgumentException("the order reference is missing");
            }));

            HttpResponse<String> response = jetty.send(jetty.post("/orders", ORDER).header(KEY, newKey()));

            assertThat(problem(response, 400).get("detail").asText()).contains("the order reference is missing");
            assertThat(handler.calls("/orders")).isZero();
        }
    }

    @Nested
    @DisplayName("keys are scoped")
    class Scoping {

        @Test
        @DisplayName("by principal: another user sending the same key and body gets their own response")
        void byPrincipal() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> alice = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header(JettyHarness.USER_HEADER, "alice"));
            HttpResponse<String> bob = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header(JettyHarness.USER_HEADER, "bob"));
            HttpResponse<String> anonymous = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> aliceAgain = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header(JettyHarness.USER_HEADER, "alice"));
            HttpResponse<String> bobWithOtherBody = jetty.send(jetty.post("/orders", "{\"product\":\"pen\"}")
                    .header(KEY, key).header(JettyHarness.USER_HEADER, "bob"));

            assertThat(alice.body()).contains("\"user\":\"alice\"").contains("\"call\":1");
            assertThat(bob.statusCode()).isEqualTo(201);
            assertThat(bob.body()).contains("\"user\":\"bob\"").contains("\"call\":2");
            assertThat(bob.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).isEmpty();
            assertThat(anonymous.body()).contains("\"user\":\"\"").contains("\"call\":3");
            assertReplayed(aliceAgain, alice);
            problem(bobWithOtherBody, 422);
            assertThat(handler.calls("/orders")).isEqualTo(3);
        }

        @Test
        @DisplayName("by client, not by path: the same key on another endpoint is the key reused (422)")
        void notByPath() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> orders = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header(JettyHarness.USER_HEADER, "alice"));
            HttpResponse<String> other = jetty.send(jetty.post("/orders/7/items", ORDER).header(KEY, key)
                    .header(JettyHarness.USER_HEADER, "alice"));
            HttpResponse<String> bob = jetty.send(jetty.post("/orders/7/items", ORDER).header(KEY, key)
                    .header(JettyHarness.USER_HEADER, "bob"));

            assertThat(orders.body()).contains("\"call\":1");
            problem(other, 422);
            assertThat(bob.statusCode()).isEqualTo(201);
            assertThat(handler.totalCalls()).isEqualTo(2);
        }

        @Test
        @DisplayName("by client identities that differ only by a lone surrogate where the other has '?'")
        void loneSurrogateInTheClient() throws Exception {
            // an identity decoded from JSON (a token's claim, say) may hold any string
            serve(filter -> filter.scope(IdempotencyScope.client(request -> {
                try {
                    return JSON.readValue(request.getHeader("X-Client"), String.class);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            })));
            String key = newKey();

            HttpResponse<String> lone = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header("X-Client", "\"t\\ud800\""));
            HttpResponse<String> question = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header("X-Client", "\"t?\""));

            assertThat(lone.body()).contains("\"call\":1");
            assertThat(question.body()).contains("\"call\":2");
            assertThat(question.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).isEmpty();
        }

        @Test
        @DisplayName("by a client identity of the application's choosing")
        void byCustomClient() throws Exception {
            serve(filter -> filter.scope(IdempotencyScope.client(request -> request.getHeader("X-Api-Key"))));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header("X-Api-Key", "tenant-1"));
            HttpResponse<String> otherTenant = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header("X-Api-Key", "tenant-2"));
            HttpResponse<String> sameTenant = jetty.send(jetty.post("/orders", ORDER).header(KEY, key)
                    .header("X-Api-Key", "tenant-1"));

            assertThat(otherTenant.body()).contains("\"call\":2");
            assertReplayed(sameTenant, first);
        }
    }

    @Nested
    @DisplayName("which responses are stored")
    class StoragePolicy {

        @ParameterizedTest(name = "status {0}")
        @ValueSource(ints = {200, 202, 204, 301, 400, 402, 403, 404, 410, 422})
        @DisplayName("2xx, 3xx and 4xx responses are stored and replayed")
        void stored(int status) throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/status/" + status, ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/status/" + status, ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(status);
            assertReplayed(retry, first);
            assertThat(handler.calls("/status/" + status)).isEqualTo(1);
        }

        @ParameterizedTest(name = "status {0}")
        @ValueSource(ints = {500, 502, 503, 401, 407, 408, 409, 412, 423, 425, 428, 429})
        @DisplayName("5xx, and 4xx that mean the request was not acted on (401, 407, 408, 409, 412, 423, 425, 428,"
                + " 429), release the key: the retry runs again")
        void released(int status) throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/status/" + status, ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/status/" + status, ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(status);
            assertThat(first.body()).isEqualTo("status " + status + ", call 1");
            assertThat(retry.statusCode()).isEqualTo(status);
            assertThat(retry.body()).isEqualTo("status " + status + ", call 2");
            assertThat(retry.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER)).isEmpty();
            assertThat(handler.calls("/status/" + status)).isEqualTo(2);
        }

        @Test
        @DisplayName("a handler exception releases the key: the container answers 500 and the retry runs again")
        void exceptionReleases() throws Exception {
            serve(filter -> filter);
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/throw", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/throw", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(500);
            assertThat(retry.statusCode()).isEqualTo(500);
            assertThat(handler.calls("/throw")).isEqualTo(2);
        }

        @Test
        @DisplayName("a custom policy decides: storing only 2xx releases a 404")
        void customPolicy() throws Exception {
            serve(filter -> filter.storedStatuses(status -> status >= 200 && status < 300));
            String key = newKey();

            jetty.send(jetty.post("/status/404", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/status/404", ORDER).header(KEY, key));

            assertThat(retry.body()).isEqualTo("status 404, call 2");
        }
    }

    @Nested
    @DisplayName("bodies over the limits")
    class Limits {

        @Test
        @DisplayName("a request body over the limit is answered with 413, and nothing runs or is stored")
        void requestTooLarge() throws Exception {
            serve(filter -> filter.maxRequestBytes(1000));
            String key = newKey();
            String big = "{\"note\":\"" + "x".repeat(1500) + "\"}";

            HttpResponse<String> declared = jetty.send(jetty.post("/orders", big).header(KEY, key));
            HttpResponse<String> chunked = jetty.send(HttpRequest.newBuilder(jetty.uri("/orders"))
                    .header(KEY, key)
                    .POST(HttpRequest.BodyPublishers.ofInputStream(
                            () -> new ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8)))));
            HttpResponse<String> small = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));

            assertThat(problem(declared, 413).get("code").asText()).isEqualTo("request-too-large");
            assertThat(problem(chunked, 413).get("detail").asText()).contains("limit of 1000 bytes");
            assertThat(small.statusCode()).as("the key was never taken").isEqualTo(201);
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }

        @Test
        @DisplayName("a response over the buffer limit is sent in full, and its record closed without it: no re-run")
        void responseTooLarge() throws Exception {
            serve(filter -> filter.maxResponseBytes(10_000));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/big?size=20000", ORDER).header(KEY, key));
            assertEveryExecutionFinished();
            HttpResponse<String> retry = jetty.send(jetty.post("/big?size=20000", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
            assertThat(first.body()).hasSize(20_000).matches("b+");
            assertThat(problem(retry, 409).get("code").asText()).isEqualTo("response-not-kept");
            assertThat(retry.headers().firstValue("Retry-After")).as("a retry never helps").isEmpty();
            assertThat(handler.calls("/big")).isEqualTo(1);
        }

        @Test
        @DisplayName("a response over the limit written through getWriter with flushes is sent in full, charset and all")
        void writerResponseTooLarge() throws Exception {
            serve(filter -> filter.maxResponseBytes(10_000));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/big-writer?size=100000", ORDER).header(KEY, key));
            assertEveryExecutionFinished();
            HttpResponse<String> retry = jetty.send(jetty.post("/big-writer?size=100000", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.body()).hasSize(50_000).matches("\u00e9+");
            assertThat(problem(retry, 409).get("code").asText()).isEqualTo("response-not-kept");
            assertThat(handler.calls("/big-writer")).isEqualTo(1);
        }

        @Test
        @DisplayName("a failed (5xx) response over the buffer limit is sent in full and releases the key")
        void failedResponseTooLarge() throws Exception {
            serve(filter -> filter.maxResponseBytes(10_000));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/big?size=20000&status=503", ORDER).header(KEY, key));
            assertEveryExecutionFinished();
            HttpResponse<String> retry = jetty.send(jetty.post("/big?size=20000&status=503", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(503);
            assertThat(first.body()).hasSize(20_000).matches("b+");
            assertThat(retry.statusCode()).isEqualTo(503);
            assertThat(retry.body()).hasSize(20_000).matches("c+");
            assertThat(handler.calls("/big")).isEqualTo(2);
        }

        @Test
        @DisplayName("a client that goes away while a response over the limit streams does not release the key")
        void clientGoneWhileStreaming() throws Exception {
            serve(filter -> filter.maxResponseBytes(10_000));
            String key = newKey();
            byte[] body = ORDER.getBytes(StandardCharsets.UTF_8);
            byte[] head = ("POST /big?size=50000000 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + KEY + ": " + key + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);

            try (Socket socket = new Socket(jetty.uri("/").getHost(), jetty.uri("/").getPort())) {
                socket.setSoTimeout(30_000);
                socket.getOutputStream().write(head);
                socket.getOutputStream().write(body);
                socket.getOutputStream().flush();
                assertThat(new String(socket.getInputStream().readNBytes(20_000), StandardCharsets.ISO_8859_1))
                        .startsWith("HTTP/1.1 200");
                socket.setSoLinger(true, 0); // closing resets the connection: the server's next writes fail
            }
            assertEveryExecutionFinished();
            HttpResponse<String> retry = jetty.send(jetty.post("/big?size=50000000", ORDER).header(KEY, key));

            assertThat(problem(retry, 409).get("code").asText()).isEqualTo("response-not-kept");
            assertThat(handler.calls("/big")).isEqualTo(1);
        }

        @Test
        @DisplayName("a response too large to keep is sent in full, and its record is closed without it")
        void responseTooLargeToKeep() throws Exception {
            serve(Idempotency.builder(store).maxResultBytes(8_000), filter -> filter.maxResponseBytes(100_000));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/big?size=20000", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/big?size=20000", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.body()).hasSize(20_000);
            JsonNode problem = problem(retry, 409);
            assertThat(problem.get("code").asText()).isEqualTo("response-not-kept");
            assertThat(problem.get("detail").asText()).contains("is not processed again");
            assertThat(handler.calls("/big")).isEqualTo(1);
        }

        @Test
        @DisplayName("a response within the limits is replayed byte for byte")
        void largeResponseWithinLimits() throws Exception {
            serve(filter -> filter.maxResponseBytes(300_000));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/big?size=200000", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/big?size=200000", ORDER).header(KEY, key));

            assertThat(first.body()).hasSize(200_000);
            assertReplayed(retry, first);
        }
    }

    @Nested
    @DisplayName("concurrent duplicates")
    class Concurrency {

        static final int CLIENTS = 16;

        @Test
        @DisplayName("16 clients sending the same request at once: the handler runs once, the others get 409 with"
                + " Retry-After, and a later retry gets the stored response")
        void conflict() throws Exception {
            serve(Idempotency.builder(store).lease(Duration.ofMinutes(10)), filter -> filter);
            String key = newKey();
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            try {
                List<Future<HttpResponse<String>>> responses = sendTogether(clients, key);

                // every duplicate is answered while the first still runs
                assertThat(handler.slowEntered.await(60, TimeUnit.SECONDS)).isTrue();
                List<HttpResponse<String>> conflicts = new ArrayList<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (conflicts.size() < CLIENTS - 1 && System.nanoTime() < deadline) {
                    conflicts.clear();
                    for (Future<HttpResponse<String>> response : responses) {
                        if (response.isDone()) {
                            conflicts.add(response.get());
                        }
                    }
                    Thread.sleep(20);
                }
                assertThat(conflicts).hasSize(CLIENTS - 1);
                for (HttpResponse<String> conflict : conflicts) {
                    JsonNode problem = problem(conflict, 409);
                    assertThat(problem.get("code").asText()).isEqualTo("request-in-progress");
                    assertThat(conflict.headers().firstValue("Retry-After")).as("soon, not when the lease ends")
                            .hasValue("1");
                }
                handler.slowRelease.countDown();
                List<HttpResponse<String>> all = new ArrayList<>();
                for (Future<HttpResponse<String>> response : responses) {
                    all.add(response.get(60, TimeUnit.SECONDS));
                }
                HttpResponse<String> winner = all.stream().filter(r -> r.statusCode() == 201).findFirst().orElseThrow();
                HttpResponse<String> retry = jetty.send(jetty.post("/slow", ORDER).header(KEY, key));

                assertReplayed(retry, winner);
                assertThat(handler.calls("/slow")).isEqualTo(1);
            } finally {
                clients.shutdownNow();
            }
        }

        @Test
        @DisplayName("the in-progress Retry-After is the configured one, whatever the lease")
        void configuredRetryAfter() throws Exception {
            serve(Idempotency.builder(store).lease(Duration.ofSeconds(2)),
                    filter -> filter.inProgressRetryAfter(Duration.ofMillis(2500)));
            String key = newKey();
            ExecutorService clients = Executors.newFixedThreadPool(1);
            try {
                Future<HttpResponse<String>> slow = clients.submit(
                        () -> jetty.send(jetty.post("/slow", ORDER).header(KEY, key)));
                assertThat(handler.slowEntered.await(60, TimeUnit.SECONDS)).isTrue();

                HttpResponse<String> conflict = jetty.send(jetty.post("/slow", ORDER).header(KEY, key));

                assertThat(problem(conflict, 409).get("detail").asText()).contains("retry after 3 s");
                assertThat(conflict.headers().firstValue("Retry-After")).hasValue("3");
                handler.slowRelease.countDown();
                assertThat(slow.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
            } finally {
                clients.shutdownNow();
            }
        }

        @Test
        @DisplayName("with a bounded wait on the engine, the 15 duplicates wait and get the replay")
        void boundedWait() throws Exception {
            serve(Idempotency.builder(store).waitForInProgress(Duration.ofSeconds(60)), filter -> filter);
            String key = newKey();
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            try {
                List<Future<HttpResponse<String>>> responses = sendTogether(clients, key);

                assertThat(handler.slowEntered.await(60, TimeUnit.SECONDS)).isTrue();
                // every client has asked the store at least once, so all of them are waiting on the first
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (store.calls(FaultInjectingStore.Operation.ACQUIRE) < CLIENTS
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(store.calls(FaultInjectingStore.Operation.ACQUIRE)).isGreaterThanOrEqualTo(CLIENTS);
                assertThat(responses).noneMatch(Future::isDone);
                handler.slowRelease.countDown();

                List<HttpResponse<String>> all = new ArrayList<>();
                for (Future<HttpResponse<String>> response : responses) {
                    all.add(response.get(60, TimeUnit.SECONDS));
                }
                assertThat(all).allMatch(r -> r.statusCode() == 201);
                assertThat(all).map(HttpResponse::body).containsOnly(all.get(0).body());
                assertThat(all).filteredOn(r -> r.headers().firstValue(IdempotencyFilter.REPLAYED_HEADER).isPresent())
                        .hasSize(CLIENTS - 1);
                assertThat(handler.calls("/slow")).isEqualTo(1);
            } finally {
                clients.shutdownNow();
            }
        }

        private List<Future<HttpResponse<String>>> sendTogether(ExecutorService clients, String key) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                responses.add(clients.submit(() -> {
                    start.await();
                    return jetty.send(jetty.post("/slow", ORDER).header(KEY, key));
                }));
            }
            start.countDown();
            return responses;
        }
    }

    @Nested
    @DisplayName("whatever throws after the handler returned, the execution is finished")
    class Finishing {

        @Test
        @DisplayName("a storedStatuses predicate that throws is logged and the default policy decides")
        void predicateThrows() throws Exception {
            serve(filter -> filter.storedStatuses(status -> {
                throw new IllegalStateException("a broken policy");
            }));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> failed = jetty.send(jetty.post("/status/503", ORDER).header(KEY, newKey()));

            assertThat(first.statusCode()).isEqualTo(201);
            assertReplayed(retry, first);
            assertThat(failed.statusCode()).isEqualTo(503);
            assertThat(events).filteredOn(e -> e.type() == IdempotencyEvent.Type.RELEASED).hasSize(1);
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }

        @Test
        @DisplayName("an Error after the handler ran closes the record without the response: the retry is not run")
        void errorAfterTheHandler() throws Exception {
            serve(filter -> filter.storedStatuses(status -> {
                throw new AssertionError("an Error in the policy");
            }));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/orders", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(500);
            assertThat(problem(retry, 409).get("code").asText()).isEqualTo("response-not-kept");
            assertThat(events).filteredOn(e -> e.type() == IdempotencyEvent.Type.RESULT_NOT_KEPT && e.fencingToken() > 0)
                    .hasSize(1);
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }

        @Test
        @DisplayName("an Error from a failed handler's response policy releases the key: the retry runs again")
        void errorAfterAFailedHandler() throws Exception {
            serve(filter -> filter.storedStatuses(status -> {
                throw new AssertionError("an Error in the policy");
            }));
            String key = newKey();

            HttpResponse<String> first = jetty.send(jetty.post("/status/503", ORDER).header(KEY, key));
            HttpResponse<String> retry = jetty.send(jetty.post("/status/503", ORDER).header(KEY, key));

            assertThat(first.statusCode()).isEqualTo(500);
            assertThat(retry.statusCode()).isEqualTo(500);
            assertThat(handler.calls("/status/503")).isEqualTo(2);
        }
    }

    @Nested
    @DisplayName("when the store fails")
    class StoreFailures {

        @Test
        @DisplayName("the request is not processed and gets 503 (fail closed)")
        void failClosed() throws Exception {
            serve(filter -> filter);
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);

            HttpResponse<String> refused = jetty.send(jetty.post("/orders", ORDER).header(KEY, newKey()));

            assertThat(problem(refused, 503).get("code").asText()).isEqualTo("idempotency-unavailable");
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("5");
            assertThat(handler.calls("/orders")).isZero();
        }

        @Test
        @DisplayName("the 503's Retry-After is the configured one")
        void unavailableRetryAfter() throws Exception {
            serve(filter -> filter.unavailableRetryAfter(Duration.ofSeconds(30)));
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);

            HttpResponse<String> refused = jetty.send(jetty.post("/orders", ORDER).header(KEY, newKey()));

            assertThat(problem(refused, 503).get("detail").asText()).contains("retry after 30 s");
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("30");
        }

        @Test
        @DisplayName("an engine that fails open runs the handler unprotected")
        void failOpen() throws Exception {
            serve(Idempotency.builder(store).failOpen(true), filter -> filter);
            store.failNext(FaultInjectingStore.Operation.ACQUIRE, 1);

            HttpResponse<String> response = jetty.send(jetty.post("/orders", ORDER).header(KEY, newKey()));

            assertThat(response.statusCode()).isEqualTo(201);
            assertThat(handler.calls("/orders")).isEqualTo(1);
        }
    }
}
