package org.idempotency.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on a loopback port in front of the test Redis, so a test can cut the connection between a
 * client and the server (and restore it) without touching the shared server. While cut, it closes every open
 * connection and every new one at once; while stalled, it holds back what is sent, as a congested network.
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile boolean cut;
    private volatile boolean stalled;
    private final AtomicInteger roundTrips = new AtomicInteger();
    private final Thread acceptor;

    TcpProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The proxy's address, as a Redis URL. */
    String address() {
        return "redis://127.0.0.1:" + server.getLocalPort();
    }

    /** Drops every connection and refuses new ones until {@link #restore()}. */
    void cut() {
        cut = true;
        for (Socket socket : open) {
            closeQuietly(socket);
        }
        open.clear();
    }

    /** Accepts and forwards connections again. */
    void restore() {
        cut = false;
    }

    /**
     * How many round trips went through the proxy so far: each time a client sends after having received (or
     * for the first time on its connection) counts one.
     */
    int roundTrips() {
        return roundTrips.get();
    }

    /** Keeps the connections open but holds back everything sent either way until {@link #resume()}. */
    void stall() {
        stalled = true;
    }

    /** Forwards what was held back, and everything after it. */
    void resume() {
        stalled = false;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (cut) {
                closeQuietly(client);
                continue;
            }
            try {
                Socket upstream = new Socket();
                upstream.connect(new InetSocketAddress(targetHost, targetPort), 2000);
                open.add(client);
                open.add(upstream);
                AtomicBoolean clientSpokeLast = new AtomicBoolean();
                pump(client, upstream, clientSpokeLast, true);
                pump(upstream, client, clientSpokeLast, false);
            } catch (IOException e) {
                closeQuietly(client);
            }
        }
    }

    private void pump(Socket from, Socket to, AtomicBoolean clientSpokeLast, boolean fromClient) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    while (stalled && !cut) {
                        Thread.sleep(5);
                    }
                    if (clientSpokeLast.getAndSet(fromClient) != fromClient && fromClient) {
                        roundTrips.incrementAndGet();
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (SocketException closed) {
                // the other side or cut() closed the connection
            } catch (IOException e) {
                // same: the connection is gone
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tcp-proxy-pump");
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        cut();
        server.close();
    }
}
