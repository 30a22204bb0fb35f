package org.idempotency.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP forwarder on loopback that delays every byte by a fixed time in each direction: a network between
 * client and server. It listens on an ephemeral port of {@code 127.0.0.1} and opens one connection to the target
 * per accepted client connection.
 *
 * <p>Each direction of each connection has a reader and a writer thread. The reader stamps every chunk it
 * receives with its due time (arrival plus the delay) and queues it; the writer sends each chunk, in order, at
 * its due time. Chunks in flight do not wait for each other: pipelined traffic arrives as it was sent, shifted
 * by the delay, as over a wire, and the delay does not grow with the load (unlike a sleep per read, which
 * serialises them). A park on Linux wakes tens of microseconds late, so the writer parks for that much less
 * (measured when the class loads); {@link #main} measures what the proxy adds to a round trip, which the
 * benchmark report states next to its numbers.
 *
 * <p>Thread-safe; {@link #close()} stops accepting and closes every connection.
 */
final class LatencyProxy implements AutoCloseable {

    /**
     * How late a park wakes up, measured once: the median overshoot of 101 short parks (on Linux the timer slack,
     * 50 µs, and the wake-up itself; about 70 µs on a small virtual machine). Waits park for this much less.
     */
    private static final long PARK_OVERSHOOT_NANOS = parkOvershoot();
    private static final int CHUNK = 64 * 1024;

    private final InetSocketAddress target;
    private final long delayNanos;
    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();
    private volatile boolean closed;

    private LatencyProxy(InetSocketAddress target, Duration delay) throws IOException {
        if (delay.isNegative()) {
            throw new IllegalArgumentException("the delay must not be negative, was " + delay);
        }
        this.target = target;
        this.delayNanos = delay.toNanos();
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "latency-proxy-accept-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * Starts a proxy to {@code host:port}.
     *
     * @param delay added to every byte in each direction
     */
    static LatencyProxy start(String host, int port, Duration delay) {
        try {
            return new LatencyProxy(new InetSocketAddress(host, port), delay);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the latency proxy to " + host + ":" + port, e);
        }
    }

    /** The port the proxy listens on, on {@code 127.0.0.1}. */
    int port() {
        return server.getLocalPort();
    }

    /**
     * The {@code network} parameter of the store benchmarks: {@code loopback} (no proxy) or a delay each way in
     * microseconds, such as {@code 200us}.
     *
     * @return the delay each way, zero for loopback
     */
    static Duration delayOf(String network) {
        if (network.equals("loopback")) {
            return Duration.ZERO;
        }
        if (network.matches("[0-9]{1,7}us")) {
            return Duration.ofNanos(1000L * Long.parseLong(network.substring(0, network.length() - 2)));
        }
        throw new IllegalArgumentException("network is loopback or a delay each way such as 200us, was " + network);
    }

    private void accept() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            Socket upstream = new Socket();
            try {
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                upstream.connect(target, 5_000);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(upstream);
                continue;
            }
            sockets.add(client);
            sockets.add(upstream);
            if (closed) {
                closeQuietly(client);
                closeQuietly(upstream);
                return;
            }
            int id = connections.incrementAndGet();
            pipe(client, upstream, "latency-proxy-" + id + "-up");
            pipe(upstream, client, "latency-proxy-" + id + "-down");
        }
    }

    /** Forwards {@code from} to {@code to}, each chunk at its arrival plus the delay. */
    private void pipe(Socket from, Socket to, String name) {
        BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (InputStream in = from.getInputStream()) {
                byte[] buffer = new byte[CHUNK];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    queue.add(new Chunk(System.nanoTime() + delayNanos, Arrays.copyOf(buffer, n)));
                }
            } catch (IOException e) {
                // the connection closed or broke: pass the end on
            }
            queue.add(new Chunk(System.nanoTime() + delayNanos, null));
        }, name + "-read");
        Thread writer = new Thread(() -> {
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Chunk chunk = queue.take();
                    waitUntil(chunk.due());
                    if (chunk.bytes() == null) {
                        to.shutdownOutput();
                        break;
                    }
                    out.write(chunk.bytes());
                }
            } catch (IOException | InterruptedException e) {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, name + "-write");
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }

    /**
     * Parks until the due time, less a park's usual overshoot, so that the wake-up falls on the due time. No
     * spinning: on a machine of two cores, spinning writers would take the CPU the measured client and server
     * need.
     */
    private static void waitUntil(long due) {
        long left;
        while ((left = due - System.nanoTime()) > PARK_OVERSHOOT_NANOS) {
            LockSupport.parkNanos(left - PARK_OVERSHOOT_NANOS);
        }
    }

    private static long parkOvershoot() {
        long[] overshoot = new long[101];
        long asked = 50_000;
        for (int i = 0; i < overshoot.length; i++) {
            long start = System.nanoTime();
            LockSupport.parkNanos(asked);
            overshoot[i] = Math.max(0, System.nanoTime() - start - asked);
        }
        Arrays.sort(overshoot);
        return overshoot[overshoot.length / 2];
    }

    private record Chunk(long due, byte[] bytes) {
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            // closing: nothing left to do
        }
    }

    /** Round-trip times of a raw Redis {@code PING}, directly and through a proxy: what the proxy adds. */
    record PingTimes(double directMicros, double proxiedMicros, double directP50, double proxiedP50) {

        String describe(Duration delay) {
            return String.format(Locale.ROOT, "a raw Redis PING round trip takes %.0f µs directly (median %.0f) and"
                    + " %.0f µs through the proxy (median %.0f): it adds %.0f µs, for %d µs of intended delay",
                    directMicros, directP50, proxiedMicros, proxiedP50, proxiedMicros - directMicros,
                    2 * delay.toNanos() / 1000);
        }
    }

    /**
     * Times {@code rounds} {@code PING}s on one connection to Redis directly and one through a proxy with the
     * given delay, interleaved, after a warm-up.
     */
    static PingTimes measurePing(String host, int port, Duration delay, int rounds) throws IOException {
        try (LatencyProxy proxy = start(host, port, delay);
                Socket direct = new Socket(host, port);
                Socket proxied = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            direct.setTcpNoDelay(true);
            proxied.setTcpNoDelay(true);
            for (int i = 0; i < 200; i++) {
                ping(direct);
                ping(proxied);
            }
            long[] directTimes = new long[rounds];
            long[] proxiedTimes = new long[rounds];
            for (int i = 0; i < rounds; i++) {
                directTimes[i] = ping(direct);
                proxiedTimes[i] = ping(proxied);
            }
            return new PingTimes(mean(directTimes), mean(proxiedTimes), median(directTimes), median(proxiedTimes));
        }
    }

    private static final byte[] PING = "PING\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int PONG_LENGTH = "+PONG\r\n".length();

    private static long ping(Socket socket) throws IOException {
        long start = System.nanoTime();
        socket.getOutputStream().write(PING);
        InputStream in = socket.getInputStream();
        for (int read = 0; read < PONG_LENGTH; read++) {
            if (in.read() < 0) {
                throw new SocketException("Redis closed the connection");
            }
        }
        return System.nanoTime() - start;
    }

    private static double mean(long[] nanos) {
        return Arrays.stream(nanos).average().orElse(Double.NaN) / 1000.0;
    }

    private static double median(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2] / 1000.0;
    }

    /**
     * Prints what the proxy adds to a raw Redis round trip.
     *
     * <pre>java -cp benchmarks.jar org.idempotency.benchmarks.LatencyProxy [delay each way, default 200us] [rounds]</pre>
     */
    public static void main(String[] args) throws IOException {
        Duration delay = delayOf(args.length > 0 ? args[0] : "200us");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5_000;
        InetSocketAddress redis = BenchData.redisSocket();
        System.out.println(measurePing(redis.getHostString(), redis.getPort(), delay, rounds).describe(delay));
    }
}
