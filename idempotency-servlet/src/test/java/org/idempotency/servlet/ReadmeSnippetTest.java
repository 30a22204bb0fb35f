package org.idempotency.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.JsonFingerprint;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The guide's servlet snippet is this code: it compiles and serves here, and the guide shows it verbatim. */
class ReadmeSnippetTest {

    @Test
    @DisplayName("the guide's filter set-up requires keys on /payments and replays with ETag")
    void readmeSnippet() throws Exception {
        IdempotencyStore store = InMemoryIdempotencyStore.create();
        AtomicInteger payments = new AtomicInteger();
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.addServlet(new ServletHolder(new HttpServlet() {
            private static final long serialVersionUID = 1L;

            @Override
            protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
                response.setStatus(201);
                response.setHeader("ETag", "\"p" + payments.incrementAndGet() + "\"");
                response.setContentType("application/json");
                response.getWriter().print("{\"payment\":" + payments.get() + "}");
            }
        }), "/*");
        server.setHandler(context);

        // tag::servlet[]
        Idempotency idempotency = Idempotency.builder(store)
                .waitForInProgress(Duration.ofSeconds(5)) // a duplicate waits for the first, then gets its answer
                .build();
        IdempotencyFilter filter = IdempotencyFilter.builder(idempotency)
                .operation("payments-api")
                .keyRequired(request -> request.getRequestURI().startsWith("/payments"))
                .fingerprint(RequestFingerprint.methodPathAndJson(JsonFingerprint.defaults()))
                .replayHeaders("ETag")
                .build();
        context.addFilter(new FilterHolder(filter), "/*", EnumSet.of(DispatcherType.REQUEST)); // Jetty 12
        // end::servlet[]

        server.start();
        try {
            URI payment = URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/payments");
            HttpResponse<String> missing = send(HttpRequest.newBuilder(payment), "{\"amount\":10}");
            HttpResponse<String> first = send(HttpRequest.newBuilder(payment)
                    .header("Idempotency-Key", "\"pay-1\""), "{\"amount\":10}");
            HttpResponse<String> again = send(HttpRequest.newBuilder(payment)
                    .header("Idempotency-Key", "\"pay-1\""), "{ \"amount\": 10 }");

            assertThat(missing.statusCode()).isEqualTo(400);
            assertThat(first.statusCode()).isEqualTo(201);
            assertThat(again.body()).isEqualTo(first.body());
            assertThat(again.headers().firstValue("ETag")).hasValue("\"p1\"");
            assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
            assertThat(payments).hasValue(1);
        } finally {
            server.stop();
            idempotency.close();
        }
        assertThat(Files.readString(Path.of("..", "docs", "servlet.md"))).contains(snippet());
    }

    private static HttpResponse<String> send(HttpRequest.Builder request, String body)
            throws IOException, InterruptedException {
        return JettyHarness.CLIENT.send(request.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    private static String snippet() throws IOException {
        String source = Files.readString(Path.of("src/test/java/org/idempotency/servlet/ReadmeSnippetTest.java"));
        String start = "// tag::servlet[]\n";
        String region = source.substring(source.indexOf(start) + start.length(), source.indexOf("// end::servlet[]"));
        String[] lines = region.split("\n");
        int indent = lines[0].length() - lines[0].stripLeading().length();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
        }
        return out.toString().stripTrailing();
    }
}
