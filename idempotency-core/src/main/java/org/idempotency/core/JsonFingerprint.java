package org.idempotency.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A request hash for JSON bodies that ignores what does not change their meaning: object keys are sorted,
 * insignificant whitespace is dropped, numbers are normalised ({@code 1}, {@code 1.0} and {@code 1e0} are
 * the same number) and strings are re-escaped uniformly. Chosen fields can be left out ({@link
 * Builder#exclude}) or only chosen fields kept ({@link Builder#include}): paths are field names separated by
 * dots ({@code "customer.email"}) and apply through arrays to each element.
 *
 * <p>Any two documents that differ otherwise have different canonical forms, and so different hashes: strings
 * are compared code unit by code unit (a lone surrogate such as {@code "\ud800"} is kept, and escaped in the
 * canonical form, never confused with {@code '?'} or U+FFFD), and bytes are read as strict UTF-8.
 *
 * <p>What is refused, always with an {@link IllegalArgumentException} that names the rule:
 * <ul>
 *   <li>input that is not one well-formed JSON document in UTF-8 (RFC 8259), or an object with a duplicate
 *       field name, whose meaning depends on the parser: a {@link NotJsonException}. A caller that also
 *       accepts other content can hash such input as plain bytes.</li>
 *   <li>a well-formed document beyond the limits, which no legitimate request needs and which could make a
 *       parser downstream spend unbounded time or memory: nesting deeper than {@value #MAX_NESTING_DEPTH}, a
 *       number longer than {@value #MAX_NUMBER_LENGTH} characters, a non-zero number whose decimal exponent is
 *       beyond &plusmn;{@value #MAX_EXPONENT} (such as {@code 100e2147483647}), a string longer than
 *       {@value #MAX_STRING_LENGTH} characters or a field name longer than {@value #MAX_NAME_LENGTH}. The
 *       limits are fixed here (Jackson's defaults, and its own bound for turning a decimal into an integer),
 *       never read from Jackson's global defaults, so a hash does not depend on how the application configures
 *       Jackson.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class JsonFingerprint {

    /** The deepest nesting of arrays and objects accepted. */
    public static final int MAX_NESTING_DEPTH = 1000;
    /** The longest number accepted, in characters. */
    public static final int MAX_NUMBER_LENGTH = 1000;
    /** The largest decimal exponent, either way, of a non-zero number accepted ({@code 1e100000}). */
    public static final int MAX_EXPONENT = 100_000;
    /** The longest string value accepted, in characters. */
    public static final int MAX_STRING_LENGTH = 20_000_000;
    /** The longest field name accepted, in characters. */
    public static final int MAX_NAME_LENGTH = 50_000;

    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_NESTING_DEPTH)
                            .maxNumberLength(MAX_NUMBER_LENGTH)
                            .maxStringLength(MAX_STRING_LENGTH)
                            .maxNameLength(MAX_NAME_LENGTH)
                            .build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();
    private static final JsonFingerprint DEFAULT = new JsonFingerprint(Set.of(), Set.of());

    private final Set<List<String>> include;
    private final Set<List<String>> exclude;

    private JsonFingerprint(Set<List<String>> include, Set<List<String>> exclude) {
        this.include = Set.copyOf(include);
        this.exclude = Set.copyOf(exclude);
    }

    /**
     * A fingerprint over the whole document.
     *
     * @return the shared default fingerprint
     */
    public static JsonFingerprint defaults() {
        return DEFAULT;
    }

    /**
     * A builder for a fingerprint with included or excluded fields.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The SHA-256 of the canonical form of a UTF-8 document.
     *
     * @param json the document's bytes, in UTF-8 (a leading byte order mark is ignored)
     * @return 64 lowercase hex characters
     * @throws NotJsonException if the bytes are not one well-formed JSON document in UTF-8
     * @throws IllegalArgumentException if the document is beyond the limits
     */
    public String hash(byte[] json) {
        return RequestHashes.sha256(canonicalize(json));
    }

    /**
     * The SHA-256 of the canonical form of a JSON text.
     *
     * @param json the document
     * @return 64 lowercase hex characters
     * @throws NotJsonException if the text is not one well-formed JSON document
     * @throws IllegalArgumentException if the document is beyond the limits
     */
    public String hash(String json) {
        return RequestHashes.sha256(canonicalize(json));
    }

    /**
     * The canonical form of a UTF-8 document: the same for any two documents that differ only in key order,
     * whitespace, number formatting, string escaping, or in excluded fields, and different for any others.
     * It is well-formed Unicode (lone surrogates are escaped as {@code \}{@code uXXXX}), so any encoding of it
     * keeps it apart from the others.
     *
     * @param json the document's bytes, in UTF-8 (a leading byte order mark is ignored)
     * @return the canonical JSON text
     * @throws NotJsonException if the bytes are not one well-formed JSON document in UTF-8
     * @throws IllegalArgumentException if the document is beyond the limits
     */
    public String canonicalize(byte[] json) {
        return canonical(parse(utf8(json)));
    }

    /**
     * The canonical form of a JSON text, as {@link #canonicalize(byte[])} gives for its UTF-8 bytes when the
     * text is well-formed Unicode.
     *
     * @param json the document
     * @return the canonical JSON text
     * @throws NotJsonException if the text is not one well-formed JSON document
     * @throws IllegalArgumentException if the document is beyond the limits
     */
    public String canonicalize(String json) {
        return canonical(parse(json.startsWith("\uFEFF") ? json.substring(1) : json));
    }

    /** Strict UTF-8, without a leading byte order mark: malformed input is refused, never replaced. */
    private static String utf8(byte[] json) {
        int start = json.length >= 3 && json[0] == (byte) 0xEF && json[1] == (byte) 0xBB && json[2] == (byte) 0xBF
                ? 3 : 0;
        ByteBuffer in = ByteBuffer.wrap(json, start, json.length - start);
        CharBuffer out = CharBuffer.allocate(json.length - start); // UTF-8 never has more chars than bytes
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new NotJsonException("not a JSON document: the bytes are not well-formed UTF-8 (RFC 8259 asks"
                    + " for UTF-8), malformed at byte " + in.position(), null);
        }
        return out.flip().toString();
    }

    private static JsonNode parse(String json) {
        JsonNode tree;
        try (JsonParser parser = MAPPER.createParser(json)) {
            tree = MAPPER.readTree(parser);
            if (tree == null) {
                throw new NotJsonException("not a JSON document: the input is empty", null);
            }
            if (parser.nextToken() != null) {
                throw new NotJsonException("not a JSON document: more than one value", null);
            }
        } catch (StreamConstraintsException e) {
            throw new IllegalArgumentException("the JSON document is beyond the fingerprint's limits: "
                    + e.getOriginalMessage(), e);
        } catch (JsonProcessingException e) {
            throw new NotJsonException("not a well-formed JSON document: " + e.getOriginalMessage(), e);
        } catch (NumberFormatException | ArithmeticException e) {
            // Jackson reads a number whose exponent does not fit a BigDecimal this way
            throw new IllegalArgumentException("a number's decimal exponent must be within +/-" + MAX_EXPONENT
                    + "; the document holds one that is not even representable (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("the JSON document could not be read: " + e.getMessage(), e);
        }
        checkNumbers(tree);
        return tree;
    }

    /** Every number of the document, excluded fields included, must be within the exponent limit. */
    private static void checkNumbers(JsonNode tree) {
        Deque<JsonNode> pending = new ArrayDeque<>();
        pending.push(tree);
        while (!pending.isEmpty()) {
            JsonNode node = pending.pop();
            if (node.isContainerNode()) {
                node.forEach(pending::push);
            } else if (node.isNumber()) {
                BigDecimal value = node.decimalValue();
                if (value.signum() != 0) {
                    // the exponent of the leading digit, in long arithmetic: the scale may be near Integer.MIN_VALUE
                    long exponent = (long) value.precision() - value.scale() - 1;
                    if (Math.abs(exponent) > MAX_EXPONENT) {
                        throw new IllegalArgumentException("a number's decimal exponent must be within +/-"
                                + MAX_EXPONENT + ", found a number of the order of 1e" + exponent);
                    }
                }
            }
        }
    }

    private String canonical(JsonNode tree) {
        StringWriter out = new StringWriter();
        try (JsonGenerator generator = MAPPER.getFactory().createGenerator(out)) {
            write(tree, new ArrayList<>(), generator);
        } catch (IOException e) {
            throw new IllegalStateException("writing to a string cannot fail", e);
        }
        return escapeLoneSurrogates(out.toString());
    }

    /** Writes a node, its object fields sorted and the fields this fingerprint leaves out skipped. */
    private void write(JsonNode node, List<String> path, JsonGenerator out) throws IOException {
        if (node.isObject()) {
            TreeMap<String, JsonNode> sorted = new TreeMap<>();
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                sorted.put(field.getKey(), field.getValue());
            }
            out.writeStartObject();
            for (Map.Entry<String, JsonNode> field : sorted.entrySet()) {
                path.add(field.getKey());
                if (kept(path)) {
                    out.writeFieldName(field.getKey());
                    write(field.getValue(), path, out);
                }
                path.remove(path.size() - 1);
            }
            out.writeEndObject();
        } else if (node.isArray()) {
            out.writeStartArray();
            for (JsonNode element : node) {
                write(element, path, out);
            }
            out.writeEndArray();
        } else if (node.isNumber()) {
            // safe within the exponent limit: the scale stays far from overflowing
            BigDecimal value = node.decimalValue().stripTrailingZeros();
            out.writeNumber(value.signum() == 0 ? "0" : value.toString());
        } else {
            MAPPER.writeTree(out, node);
        }
    }

    /**
     * Whether a field path is kept: not excluded, and either nothing is included explicitly or the path is on
     * the way to or below an included path. Paths are compared name by name, so a field named {@code "a.b"}
     * is not the path {@code a.b}.
     */
    private boolean kept(List<String> path) {
        if (exclude.contains(path)) {
            return false;
        }
        if (include.isEmpty()) {
            return true;
        }
        for (List<String> kept : include) {
            if (startsWith(kept, path) || startsWith(path, kept)) {
                return true;
            }
        }
        return false;
    }

    private static boolean startsWith(List<String> path, List<String> prefix) {
        return path.size() >= prefix.size() && path.subList(0, prefix.size()).equals(prefix);
    }

    /**
     * Jackson writes strings to a {@code Writer} character for character, so a lone surrogate reaches the text
     * as it is; it can only be inside a string or a name, where {@code \}{@code uXXXX} is its JSON escape.
     */
    private static String escapeLoneSurrogates(String json) {
        int lone = RequestHashes.firstLoneSurrogate(json);
        if (lone < 0) {
            return json;
        }
        StringBuilder out = new StringBuilder(json.length() + 16).append(json, 0, lone);
        for (int i = lone; i < json.length(); i++) {
            char c = json.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < json.length() && Character.isLowSurrogate(json.charAt(i + 1))) {
                out.append(c).append(json.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * The input is not one well-formed JSON document in UTF-8: a syntax error, an empty input, several values,
     * an object with a duplicate field name, or bytes that are not UTF-8. Callers that accept other content as
     * well may hash such input as bytes instead; a document that is well-formed but beyond the limits is refused
     * with a plain {@link IllegalArgumentException} instead.
     */
    public static final class NotJsonException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        NotJsonException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Builds a {@link JsonFingerprint}. Not thread-safe; the built fingerprint is. */
    public static final class Builder {
        private final Set<List<String>> include = new HashSet<>();
        private final Set<List<String>> exclude = new HashSet<>();

        private Builder() {
        }

        /**
         * Keeps only these field paths (and what is below them).
         *
         * @param paths field names joined by dots, such as {@code "customer.id"}
         * @return this builder
         * @throws IllegalArgumentException if a path is blank or has an empty field name
         */
        public Builder include(String... paths) {
            include.addAll(checked(paths));
            return this;
        }

        /**
         * Leaves these field paths out, such as a timestamp or a trace id that differs between retries.
         *
         * @param paths field names joined by dots, such as {@code "meta.traceId"}
         * @return this builder
         * @throws IllegalArgumentException if a path is blank or has an empty field name
         */
        public Builder exclude(String... paths) {
            exclude.addAll(checked(paths));
            return this;
        }

        /**
         * The fingerprint.
         *
         * @return a new immutable fingerprint
         */
        public JsonFingerprint build() {
            return new JsonFingerprint(include, exclude);
        }

        private static List<List<String>> checked(String... paths) {
            List<List<String>> out = new ArrayList<>();
            for (String path : paths) {
                if (path == null || path.isBlank() || path.startsWith(".") || path.endsWith(".")
                        || path.contains("..")) {
                    throw new IllegalArgumentException("a field path is field names joined by dots, such as"
                            + " 'customer.email'; got '" + path + "'");
                }
                out.add(List.of(path.split("\\.")));
            }
            return out;
        }
    }
}
