package org.idempotency.examples;

import java.io.PrintStream;
import java.time.Clock;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.JsonFingerprint;
import org.idempotency.servlet.IdempotencyFilter;
import org.idempotency.servlet.RequestFingerprint;

/**
 * The README's main command: the order service of the seed design on an embedded Jetty 12, with the
 * {@link IdempotencyFilter} in front of {@code POST /orders} and an {@link OrderService} that is idempotent on
 * its own. A scripted client plays the cases (a first request, its retry, a key reused for another order, a
 * duplicate while the first still runs, another customer with the same key, a client that sends no key),
 * prints each request and response, checks each outcome, and exits 0 if all were as expected.
 *
 * <pre>
 * --store=memory|redis|postgres   the idempotency store (default memory)
 * --serve                         keep the server running for curl after the script (Ctrl+C stops it)
 * --port=N                        the port (default 8080 with --serve, else a free one)
 * </pre>
 */
public final class Demo {

    static final String USAGE = "Usage: Demo [--store=" + String.join("|", DemoStores.NAMES)
            + "] [--serve] [--port=N]";

    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    /**
     * Runs the demo.
     *
     * @return 0 if every outcome was as expected, 1 if one was not, 2 for a usage or configuration error
     */
    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        }
        IdempotencyStore store;
        try {
            store = DemoStores.create(options.store());
        } catch (RuntimeException e) {
            err.println("Cannot use the '" + options.store() + "' store: " + e.getMessage());
            return 2;
        }
        try (Idempotency idempotency = Idempotency.builder(store).retention(DemoStores.RETENTION).build()) {
            OrderService orders = new OrderService(idempotency, Clock.systemUTC());
            IdempotencyFilter filter = IdempotencyFilter.builder(idempotency)
                    .operation("orders-http")
                    .fingerprint(RequestFingerprint.methodPathAndJson(JsonFingerprint.defaults()))
                    .build();
            try (OrderServer server = OrderServer.start(options.port(), filter, orders)) {
                out.println("Order service on " + server.base() + " (store: " + options.store()
                        + ", customers: alice and bob, HTTP Basic)");
                boolean asExpected = new ScriptedClient(server.base(), orders, out).play();
                DemoStores.leftBehind(options.store()).ifPresent(out::println);
                if (options.serve()) {
                    printCurlHelp(out, server.base().toString());
                    server.join();
                }
                return asExpected ? 0 : 1;
            }
        } finally {
            if (store instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
    }

    private static void printCurlHelp(PrintStream out, String base) {
        String post = "curl -i -u alice:wonderland -H 'Content-Type: application/json' ";
        out.println();
        out.println("The server keeps running on " + base + " for your own requests (Ctrl+C stops it):");
        out.println("  " + post + "-H 'Idempotency-Key: \"my-key-1\"' -d '{\"product\":\"book\",\"quantity\":1}' "
                + base + "/orders");
        out.println("      run it twice: the second answer is the stored one, with Idempotent-Replayed: true");
        out.println("  " + post + "-H 'Idempotency-Key: \"my-key-1\"' -d '{\"product\":\"pen\",\"quantity\":5}' "
                + base + "/orders");
        out.println("      the same key for another order: 422");
        out.println("  curl -i -u bob:builder -H 'Content-Type: application/json' -H 'Idempotency-Key: \"my-key-1\"' "
                + "-d '{\"product\":\"book\",\"quantity\":1}' " + base + "/orders");
        out.println("      another customer with the same key: a separate order");
        out.println("  curl -u alice:wonderland " + base + "/orders");
        out.flush();
    }

    /** The command line. */
    record Options(String store, boolean serve, int port) {

        static Options parse(String[] args) {
            String store = "memory";
            boolean serve = false;
            Integer port = null;
            for (String arg : args) {
                if (arg.startsWith("--store=")) {
                    store = arg.substring("--store=".length());
                    if (!DemoStores.NAMES.contains(store)) {
                        throw new IllegalArgumentException("Unknown store '" + store + "'; --store takes one of "
                                + String.join(", ", DemoStores.NAMES));
                    }
                } else if (arg.equals("--serve")) {
                    serve = true;
                } else if (arg.startsWith("--port=")) {
                    try {
                        port = Integer.parseInt(arg.substring("--port=".length()));
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--port takes a number, got '" + arg + "'", e);
                    }
                    if (port < 0 || port > 65535) {
                        throw new IllegalArgumentException("--port takes 0 to 65535, got " + port);
                    }
                } else if (!arg.isBlank()) {
                    throw new IllegalArgumentException("Unknown argument '" + arg + "'");
                }
            }
            return new Options(store, serve, port != null ? port : serve ? 8080 : 0);
        }
    }
}
