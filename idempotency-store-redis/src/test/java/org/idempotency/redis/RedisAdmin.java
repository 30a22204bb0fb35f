package org.idempotency.redis;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One plain connection to one Redis node, for the tests' administration: {@code CLUSTER SETSLOT}, {@code MIGRATE},
 * {@code REPLICAOF}, {@code CONFIG SET}, {@code INFO}. It speaks RESP2 itself, so that a command goes to exactly
 * the node the test names (a cluster client would route it, and Redisson's node API covers only part of these).
 * Replies: simple and bulk strings as {@link String} (null for a null bulk), integers as {@link Long}, arrays as
 * {@link List}; an error reply is a {@link ErrorReply}. Not thread-safe.
 */
final class RedisAdmin implements AutoCloseable {

    /** A Redis error reply. */
    static final class ErrorReply extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ErrorReply(String message) {
            super(message);
        }
    }

    private final int port;
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    private RedisAdmin(String host, int port) throws IOException {
        this.port = port;
        this.socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 2000);
        socket.setSoTimeout(30_000);
        this.out = socket.getOutputStream();
        this.in = new BufferedInputStream(socket.getInputStream());
    }

    /** Connects to a node on 127.0.0.1, failing with how to start the test topology. */
    static RedisAdmin connect(int port) {
        return connect("127.0.0.1", port);
    }

    static RedisAdmin connect(String host, int port) {
        try {
            return new RedisAdmin(host, port);
        } catch (IOException e) {
            throw new IllegalStateException("No Redis at " + host + ":" + port + " for the tests: run"
                    + " scripts/redis-topology.sh (it starts the Redis Cluster on 7001-7006, the master/replica pair"
                    + " on 6390/6391 and a server on 6392): " + e, e);
        }
    }

    int port() {
        return port;
    }

    /** Sends one command and returns its reply. */
    Object call(Object... args) {
        try {
            ByteArrayOutputStream request = new ByteArrayOutputStream();
            request.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (Object arg : args) {
                byte[] bytes = arg instanceof byte[] raw ? raw : String.valueOf(arg).getBytes(StandardCharsets.UTF_8);
                request.write(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                request.write(bytes);
                request.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write(request.toByteArray());
            out.flush();
            Object reply = read();
            if (reply instanceof ErrorReply error) {
                throw new ErrorReply(error.getMessage() + " (port " + port + ", command " + args[0] + ")");
            }
            return reply;
        } catch (IOException e) {
            throw new UncheckedIOException("Redis on port " + port + " failed to answer " + args[0], e);
        }
    }

    String string(Object... args) {
        return (String) call(args);
    }

    /** One field of {@code INFO section}, or null. */
    String info(String section, String field) {
        for (String line : string("INFO", section).split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1);
            }
        }
        return null;
    }

    /** One field of {@code CLUSTER INFO}, or null. */
    String clusterInfo(String field) {
        for (String line : string("CLUSTER", "INFO").split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1);
            }
        }
        return null;
    }

    String nodeId() {
        return string("CLUSTER", "MYID");
    }

    private Object read() throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new IOException("connection closed");
        }
        String line = readLine();
        switch (type) {
            case '+':
                return line;
            case '-':
                return new ErrorReply(line);
            case ':':
                return Long.parseLong(line);
            case '$': {
                int length = Integer.parseInt(line);
                if (length < 0) {
                    return null;
                }
                byte[] bytes = in.readNBytes(length + 2);
                return new String(bytes, 0, length, StandardCharsets.UTF_8);
            }
            case '*': {
                int count = Integer.parseInt(line);
                if (count < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    items.add(read());
                }
                return items;
            }
            default:
                throw new IOException("unexpected RESP type '" + (char) type + "'");
        }
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\r') {
            if (b < 0) {
                throw new IOException("connection closed");
            }
            line.write(b);
        }
        in.read();
        return line.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
