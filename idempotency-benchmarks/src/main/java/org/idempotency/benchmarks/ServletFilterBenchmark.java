package org.idempotency.benchmarks;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.servlet.IdempotencyFilter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The servlet filter over an embedded Jetty 12 on the loopback interface, next to its raw floor measured in the
 * same run: the same servlet, the same {@link HttpClient} and connection, the same small JSON POST, without the
 * filter. The filter runs over the in-memory store, so the difference is the filter's own work (header
 * parsing, body buffering and fingerprint, scoping, response capture) plus the engine. One client thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class ServletFilterBenchmark {

    private static final String BODY = "{\"product\":\"book\",\"quantity\":1,\"customer\":\"cust-42\"}";
    private static final byte[] CREATED = "{\"id\":\"ord-1\",\"product\":\"book\",\"quantity\":1}"
            .getBytes(StandardCharsets.UTF_8);

    private Server server;
    private Idempotency idempotency;
    private HttpClient client;
    private URI raw;
    private URI filtered;
    private final AtomicLong keys = new AtomicLong();

    @Setup(Level.Trial)
    public void start() throws Exception {
        idempotency = Idempotency.builder(InMemoryIdempotencyStore.create())
                .lease(Duration.ofSeconds(10))
                .retention(Duration.ofSeconds(30)) // first requests add a record each: keep memory flat
                .purgeInterval(Duration.ofSeconds(5))
                .build();
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        // never close the client's pooled connection under it between iterations (the client would fail)
        connector.setIdleTimeout(Duration.ofMinutes(30).toMillis());
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.addFilter(new FilterHolder(IdempotencyFilter.builder(idempotency).build()), "/filtered/*",
                EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(new ServletHolder(new CreateOrder()), "/*");
        server.setHandler(context);
        server.start();
        URI base = URI.create("http://127.0.0.1:" + connector.getLocalPort());
        raw = base.resolve("/raw/orders");
        filtered = base.resolve("/filtered/orders");
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        replay(); // stores the response that filteredReplay replays
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        server.stop();
        idempotency.close();
    }

    /** The floor: the POST without the filter. */
    @Benchmark
    public int rawPost() throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(raw));
    }

    /** Through the filter without a key: the filter only looks at the method and the header. */
    @Benchmark
    public int filteredWithoutKey() throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(filtered));
    }

    /** A first request: parse the key, buffer and hash the body, acquire, capture the response, complete. */
    @Benchmark
    public int filteredFirstRequest() throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(filtered)
                .header(IdempotencyFilter.HEADER, "\"key-" + keys.incrementAndGet() + "\""));
    }

    /** A retry: parse the key, buffer and hash the body, acquire (finds the record), decode, write it. */
    @Benchmark
    public int filteredReplay() throws IOException, InterruptedException {
        return replay();
    }

    private int replay() throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(filtered).header(IdempotencyFilter.HEADER, "\"the-replayed-key\""));
    }

    private int send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<byte[]> response = client.send(request
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(BODY))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 201) {
            throw new IllegalStateException("unexpected status " + response.statusCode());
        }
        return response.body().length;
    }

    /** Reads the order and answers 201 with a small JSON body, as an order endpoint would. */
    static final class CreateOrder extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
            request.getInputStream().readAllBytes();
            response.setStatus(201);
            response.setContentType("application/json");
            response.setHeader("Location", "/orders/ord-1");
            response.getOutputStream().write(CREATED);
        }
    }
}
