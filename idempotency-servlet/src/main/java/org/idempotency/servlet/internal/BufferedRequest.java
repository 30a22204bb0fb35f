package org.idempotency.servlet.internal;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URLDecoder;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A request whose body the filter has already read (to fingerprint it): the handler reads the same bytes
 * from {@link #getInputStream()} or {@link #getReader()}, and the parameters of a
 * {@code application/x-www-form-urlencoded} body are parsed from them, because the container's own stream is
 * consumed. Used by one request thread.
 */
public final class BufferedRequest extends HttpServletRequestWrapper {

    private static final String FORM = "application/x-www-form-urlencoded";

    private final byte[] body;
    private @Nullable ServletInputStream stream;
    private @Nullable BufferedReader reader;
    private @Nullable Map<String, String[]> formParameters;

    /**
     * Wraps a request whose body the filter read.
     *
     * @param request the container's request
     * @param body the body it carried
     */
    public BufferedRequest(HttpServletRequest request, byte[] body) {
        super(request);
        this.body = body;
    }

    @Override
    public ServletInputStream getInputStream() {
        if (reader != null) {
            throw new IllegalStateException("getReader() was already called for this request");
        }
        if (stream == null) {
            stream = new BodyStream(body);
        }
        return stream;
    }

    @Override
    public BufferedReader getReader() {
        if (stream != null) {
            throw new IllegalStateException("getInputStream() was already called for this request");
        }
        if (reader == null) {
            reader = new BufferedReader(new InputStreamReader(new ByteArrayInputStream(body), readerCharset()));
        }
        return reader;
    }

    @Override
    public int getContentLength() {
        return body.length;
    }

    @Override
    public long getContentLengthLong() {
        return body.length;
    }

    @Override
    public @Nullable String getParameter(String name) {
        if (!isForm()) {
            return super.getParameter(name);
        }
        String[] values = form().get(name);
        return values == null ? null : values[0];
    }

    @Override
    public Map<String, String[]> getParameterMap() {
        return isForm() ? Collections.unmodifiableMap(form()) : super.getParameterMap();
    }

    @Override
    public Enumeration<String> getParameterNames() {
        return isForm() ? Collections.enumeration(form().keySet()) : super.getParameterNames();
    }

    @Override
    public String @Nullable [] getParameterValues(String name) {
        if (!isForm()) {
            return super.getParameterValues(name);
        }
        String[] values = form().get(name);
        return values == null ? null : values.clone();
    }

    private boolean isForm() {
        String type = getContentType();
        return type != null && type.toLowerCase(Locale.ROOT).startsWith(FORM);
    }

    /** Query-string parameters first, then the body's, as the servlet specification orders them. */
    private Map<String, String[]> form() {
        if (formParameters == null) {
            Charset charset = charset(getCharacterEncoding(), StandardCharsets.UTF_8);
            Map<String, List<String>> values = new LinkedHashMap<>();
            String query = getQueryString();
            if (query != null) {
                parse(query, charset, values);
            }
            parse(new String(body, StandardCharsets.ISO_8859_1), charset, values);
            Map<String, String[]> out = new LinkedHashMap<>();
            values.forEach((name, list) -> out.put(name, list.toArray(new String[0])));
            formParameters = out;
        }
        return formParameters;
    }

    private static void parse(String encoded, Charset charset, Map<String, List<String>> into) {
        for (String pair : encoded.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq), charset);
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1), charset);
            into.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
    }

    private static String decode(String text, Charset charset) {
        // the body was read as ISO-8859-1 (one char per byte); re-encode before percent-decoding
        String raw = new String(text.getBytes(StandardCharsets.ISO_8859_1), charset);
        try {
            return URLDecoder.decode(raw, charset);
        } catch (IllegalArgumentException malformedEscape) {
            return raw;
        }
    }

    private Charset readerCharset() {
        String type = getContentType();
        boolean json = type != null && type.toLowerCase(Locale.ROOT).contains("json");
        return charset(getCharacterEncoding(), json ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    }

    private static Charset charset(@Nullable String name, Charset fallback) {
        if (name == null) {
            return fallback;
        }
        try {
            return Charset.forName(name);
        } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
            return fallback;
        }
    }

    private static final class BodyStream extends ServletInputStream {
        private final ByteArrayInputStream in;

        BodyStream(byte[] body) {
            this.in = new ByteArrayInputStream(body);
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            return in.read(b, off, len);
        }

        @Override
        public byte[] readAllBytes() {
            return in.readAllBytes();
        }

        @Override
        public int available() {
            return in.available();
        }

        @Override
        public boolean isFinished() {
            return in.available() == 0;
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setReadListener(ReadListener listener) {
            throw new IllegalStateException("non-blocking reads are not supported behind the idempotency filter:"
                    + " the body was already read");
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
