package org.idempotency.servlet.internal;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the handler's whole response back from the client, so the filter can decide what to store before
 * anything is sent. Status and headers are passed to the real response as they are set (the container keeps
 * them; nothing is committed); the body, whether written through {@link #getOutputStream()} or
 * {@link #getWriter()}, in one piece or streamed with {@link #flushBuffer()} calls in between, goes to a
 * buffer of at most {@code limit} bytes. {@code sendError} and {@code sendRedirect} are recorded and replayed
 * on the real response by {@link #commit()}.
 *
 * <p>A body that outgrows the buffer is not cut: the response is committed with what was buffered, and the rest
 * goes straight to the client as the handler writes it ({@link #passedThrough()}); nothing of it is kept. From
 * then on a client that went away does not fail the handler's writes (its output is dropped, as it would be
 * after a buffered response), so the work is never mistaken for a failure because of the network.
 *
 * <p>As in a container, a charset set after {@link #getWriter()} (by {@code setContentType},
 * {@code setCharacterEncoding} or {@code setLocale}) does not change the writer's, and the {@code Content-Type}
 * keeps naming the writer's charset, so the header and the bytes agree. Used by one request thread.
 */
public final class CapturingResponse extends HttpServletResponseWrapper {

    private static final Logger LOG = LoggerFactory.getLogger(CapturingResponse.class);

    private final int limit;
    private byte[] buffer = new byte[256];
    private int count;
    private long written;
    private int status = SC_OK;
    private long contentLength = -1;
    private StoredResponse.Kind kind = StoredResponse.Kind.BODY;
    private @Nullable String argument;
    private boolean closed;
    private boolean passedThrough;
    private boolean clientGone;
    private @Nullable ServletOutputStream client;
    private @Nullable Capture stream;
    private @Nullable PrintWriter writer;
    private @Nullable String writerEncoding;

    /**
     * Wraps a response.
     *
     * @param response the container's response
     * @param limit the most body bytes held back
     */
    public CapturingResponse(HttpServletResponse response, int limit) {
        super(response);
        this.limit = limit;
    }

    /** The status the handler set. */
    @Override
    public int getStatus() {
        return status;
    }

    @Override
    public void setStatus(int sc) {
        if (isCommitted()) {
            return;
        }
        status = sc;
        super.setStatus(sc);
    }

    @Override
    public void sendError(int sc) throws IOException {
        sendError(sc, null);
    }

    @Override
    public void sendError(int sc, @Nullable String msg) {
        if (isCommitted()) {
            throw new IllegalStateException("the response is already committed");
        }
        discardBody();
        status = sc;
        kind = StoredResponse.Kind.SEND_ERROR;
        argument = msg;
    }

    @Override
    public void sendRedirect(String location) {
        if (isCommitted()) {
            throw new IllegalStateException("the response is already committed");
        }
        discardBody();
        status = SC_FOUND;
        kind = StoredResponse.Kind.REDIRECT;
        argument = location;
    }

    @Override
    public boolean isCommitted() {
        return kind != StoredResponse.Kind.BODY || closed || passedThrough;
    }

    @Override
    public void setContentLength(int len) {
        setContentLengthLong(len);
    }

    @Override
    public void setContentLengthLong(long len) {
        // the filter sets the length of what it finally sends; the handler's counts if the body passes through
        if (!isCommitted()) {
            contentLength = len;
        }
    }

    @Override
    public void setHeader(String name, @Nullable String value) {
        if (isContentLength(name)) {
            setContentLengthLong(parseLength(value));
        } else {
            super.setHeader(name, value);
        }
    }

    @Override
    public void addHeader(String name, @Nullable String value) {
        if (isContentLength(name)) {
            setContentLengthLong(parseLength(value));
        } else {
            super.addHeader(name, value);
        }
    }

    @Override
    public void setIntHeader(String name, int value) {
        if (isContentLength(name)) {
            setContentLengthLong(value);
        } else {
            super.setIntHeader(name, value);
        }
    }

    @Override
    public void addIntHeader(String name, int value) {
        if (isContentLength(name)) {
            setContentLengthLong(value);
        } else {
            super.addIntHeader(name, value);
        }
    }

    @Override
    public void setContentType(@Nullable String type) {
        if (isCommitted()) {
            return;
        }
        super.setContentType(type);
        keepWriterCharset();
    }

    @Override
    public void setCharacterEncoding(@Nullable String encoding) {
        if (isCommitted() || writer != null) {
            return; // too late for the writer, as in a container
        }
        super.setCharacterEncoding(encoding);
    }

    @Override
    public void setLocale(Locale locale) {
        if (isCommitted()) {
            return;
        }
        super.setLocale(locale);
        keepWriterCharset();
    }

    @Override
    public ServletOutputStream getOutputStream() {
        if (writer != null) {
            throw new IllegalStateException("getWriter() was already called for this response");
        }
        if (stream == null) {
            stream = new Capture();
        }
        return stream;
    }

    @Override
    public PrintWriter getWriter() {
        if (stream != null && writer == null) {
            throw new IllegalStateException("getOutputStream() was already called for this response");
        }
        if (writer == null) {
            String encoding = getCharacterEncoding();
            Charset charset = charset(encoding);
            if (charset == null) {
                charset = StandardCharsets.ISO_8859_1;
                encoding = charset.name();
            }
            // fix the charset in the Content-Type, as the container does when its own writer is obtained
            writerEncoding = encoding;
            super.setCharacterEncoding(encoding);
            stream = new Capture();
            writer = new PrintWriter(new OutputStreamWriter(stream, charset), false);
        }
        return writer;
    }

    /** Once the writer exists, a charset that came later is put back to the writer's (the real response has no writer). */
    private void keepWriterCharset() {
        String wanted = writerEncoding;
        if (wanted != null && !wanted.equalsIgnoreCase(getResponse().getCharacterEncoding())) {
            super.setCharacterEncoding(wanted);
        }
    }

    /**
     * Streaming handlers flush as they go: the bytes stay in the buffer until the filter decides, or go to the
     * client once the body has passed through.
     */
    @Override
    public void flushBuffer() {
        if (writer != null) {
            writer.flush();
        }
        if (passedThrough && !clientGone) {
            try {
                getResponse().flushBuffer();
            } catch (IOException e) {
                clientLost(e);
            }
        }
    }

    @Override
    public int getBufferSize() {
        return limit;
    }

    @Override
    public void setBufferSize(int size) {
        if (written > 0 || isCommitted()) {
            throw new IllegalStateException("the buffer size cannot change after content was written");
        }
    }

    @Override
    public void resetBuffer() {
        if (isCommitted()) {
            throw new IllegalStateException("the response is already committed");
        }
        discardBody();
    }

    @Override
    public void reset() {
        if (isCommitted()) {
            throw new IllegalStateException("the response is already committed");
        }
        super.reset();
        discardBody();
        status = SC_OK;
        contentLength = -1;
        stream = null;
        writer = null;
        writerEncoding = null;
    }

    /** Ends the handler's writing: flushes its writer into the buffer. */
    public void finish() {
        if (writer != null) {
            writer.flush();
        }
    }

    /**
     * Whether the body outgrew the buffer and was sent to the client as it was written: the response is
     * committed and nothing of it can be stored or sent again.
     *
     * @return whether the body passed through
     */
    public boolean passedThrough() {
        return passedThrough;
    }

    /**
     * How many body bytes the handler wrote, kept or not.
     *
     * @return the count of bytes
     */
    public long bytesWritten() {
        return written;
    }

    /**
     * What a replay needs, with the allow-listed headers read from the real response.
     *
     * @param headerNames the headers to keep
     * @return the response to store
     */
    public StoredResponse toStored(List<String> headerNames) {
        HttpServletResponse real = (HttpServletResponse) getResponse();
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : headerNames) {
            if (name.equalsIgnoreCase("Content-Type")) {
                String type = real.getContentType();
                if (type != null && kind == StoredResponse.Kind.BODY) {
                    headers.put(name, List.of(type));
                }
                continue;
            }
            List<String> values = new ArrayList<>(real.getHeaders(name));
            if (!values.isEmpty()) {
                headers.put(name, List.copyOf(values));
            }
        }
        byte[] body = kind == StoredResponse.Kind.BODY ? Arrays.copyOf(buffer, count) : new byte[0];
        return new StoredResponse(status, headers, body, kind, argument);
    }

    /**
     * Sends what the handler produced to the real response.
     *
     * @throws IOException if the client cannot be written to
     */
    public void commit() throws IOException {
        HttpServletResponse real = (HttpServletResponse) getResponse();
        switch (kind) {
            case SEND_ERROR -> {
                if (argument == null) {
                    real.sendError(status);
                } else {
                    real.sendError(status, argument);
                }
            }
            case REDIRECT -> real.sendRedirect(argument);
            default -> {
                real.setStatus(status);
                real.setContentLength(count);
                if (count > 0) {
                    real.getOutputStream().write(buffer, 0, count);
                }
            }
        }
    }

    private void discardBody() {
        if (writer != null) {
            writer.flush();
        }
        count = 0;
        written = 0;
    }

    private void append(byte[] bytes, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("the response output is closed");
        }
        if (kind != StoredResponse.Kind.BODY) {
            return; // after sendError or sendRedirect, as in a container: ignored
        }
        written += len;
        if (!passedThrough && count + len > limit) {
            passThrough();
        }
        if (passedThrough) {
            toClient(bytes, off, len);
            return;
        }
        if (count + len > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.min(limit, Math.max(buffer.length * 2, count + len)));
        }
        System.arraycopy(bytes, off, buffer, count, len);
        count += len;
    }

    /** The body outgrew the buffer: commits the response with what was buffered, and sends the rest as it comes. */
    private void passThrough() {
        HttpServletResponse real = (HttpServletResponse) getResponse();
        real.setStatus(status);
        if (contentLength >= 0) {
            real.setContentLengthLong(contentLength);
        }
        passedThrough = true;
        toClient(buffer, 0, count);
        buffer = new byte[0];
        count = 0;
    }

    private void toClient(byte[] bytes, int off, int len) {
        if (clientGone) {
            return;
        }
        try {
            if (client == null) {
                client = getResponse().getOutputStream();
            }
            client.write(bytes, off, len);
        } catch (IOException e) {
            clientLost(e);
        }
    }

    private void clientLost(IOException e) {
        clientGone = true;
        LOG.debug("The client went away while a response over the buffer limit was sent; the rest is dropped: {}",
                e.toString());
    }

    private static long parseLength(@Nullable String value) {
        try {
            return value == null ? -1 : Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isContentLength(String name) {
        return name.equalsIgnoreCase("Content-Length");
    }

    /** The charset of that name, or {@code null} if there is no name or Java does not know it. */
    private static @Nullable Charset charset(@Nullable String name) {
        if (name == null) {
            return null;
        }
        try {
            return Charset.forName(name);
        } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
            return null;
        }
    }

    private final class Capture extends ServletOutputStream {
        private final byte[] one = new byte[1];

        @Override
        public void write(int b) throws IOException {
            one[0] = (byte) b;
            append(one, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            append(b, off, len);
        }

        @Override
        public void flush() {
            // held until the filter decides, unless the body passes through
            if (passedThrough && client != null && !clientGone) {
                try {
                    client.flush();
                } catch (IOException e) {
                    clientLost(e);
                }
            }
        }

        @Override
        public void close() {
            closed = true; // closing commits, as in a container; a writer flushes into here before it closes
            if (passedThrough && client != null && !clientGone) {
                try {
                    client.close();
                } catch (IOException e) {
                    clientLost(e);
                }
            }
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setWriteListener(WriteListener listener) {
            throw new IllegalStateException("non-blocking writes are not supported behind the idempotency filter");
        }
    }
}
