package org.idempotency.core;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A request hash for JSON bodies that ignores what does not change their meaning: object keys are sorted,
 * insignificant whitespace is dropped, numbers are normalised ({@code 1}, {@code 1.0} and {@code 1e0} are
 * the same number) and strings are re-escaped uniformly. Chosen fields can be left out ({@link
 * Builder#exclude}) or only chosen fields kept ({@link Builder#include}): paths are field names separated by
 * dots ({@code "customer.email"}) and apply through arrays to each element.
 *
 * <p>Objects with a duplicate field name are rejected: their meaning depends on the parser.
 *
 * <p>Immutable and thread-safe.
 */
public final class JsonFingerprint {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();
    private static final JsonFingerprint DEFAULT = new JsonFingerprint(Set.of(), Set.of());

    private final Set<String> include;
    private final Set<String> exclude;

    private JsonFingerprint(Set<String> include, Set<String> exclude) {
        this.include = Set.copyOf(include);
        this.exclude = Set.copyOf(exclude);
    }

    /** A fingerprint over the whole document. */
    public static JsonFingerprint defaults() {
        return DEFAULT;
    }

    /** A builder for a fingerprint with included or excluded fields. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The SHA-256 of the canonical form, as 64 lowercase hex characters.
     *
     * @throws IllegalArgumentException if the bytes are not one well-formed JSON value
     */
    public String hash(byte[] json) {
        return RequestHashes.sha256(canonicalize(json));
    }

    /** The SHA-256 of the canonical form of a JSON text. */
    public String hash(String json) {
        return hash(json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The canonical form: the same for any two documents that differ only in key order, whitespace, number
     * formatting, string escaping, or in excluded fields.
     *
     * @throws IllegalArgumentException if the bytes are not one well-formed JSON value
     */
    public String canonicalize(byte[] json) {
        JsonNode tree;
        try (JsonParser parser = MAPPER.createParser(json)) {
            tree = MAPPER.readTree(parser);
            if (tree == null) {
                throw new IllegalArgumentException("not a JSON document: the input is empty");
            }
            if (parser.nextToken() != null) {
                throw new IllegalArgumentException("not a JSON document: more than one value");
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a well-formed JSON document: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("the JSON document could not be read: " + e.getMessage(), e);
        }
        JsonNode selected = select(tree, "");
        StringWriter out = new StringWriter();
        try (JsonGenerator generator = MAPPER.getFactory().createGenerator(out)) {
            write(selected, generator);
        } catch (IOException e) {
            throw new IllegalStateException("writing to a string cannot fail", e);
        }
        return out.toString();
    }

    /** The canonical form of a JSON text. */
    public String canonicalize(String json) {
        return canonicalize(json.getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode select(JsonNode node, String path) {
        if (node.isArray()) {
            ArrayNode copy = JsonNodeFactory.instance.arrayNode();
            for (JsonNode element : node) {
                copy.add(select(element, path));
            }
            return copy;
        }
        if (!node.isObject()) {
            return node;
        }
        ObjectNode copy = JsonNodeFactory.instance.objectNode();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String fieldPath = path.isEmpty() ? field.getKey() : path + '.' + field.getKey();
            if (exclude.contains(fieldPath) || !included(fieldPath)) {
                continue;
            }
            copy.set(field.getKey(), select(field.getValue(), fieldPath));
        }
        return copy;
    }

    /** A path is kept when nothing is included explicitly, or it is on the way to or below an included path. */
    private boolean included(String path) {
        if (include.isEmpty()) {
            return true;
        }
        for (String kept : include) {
            if (kept.equals(path) || kept.startsWith(path + '.') || path.startsWith(kept + '.')) {
                return true;
            }
        }
        return false;
    }

    private static void write(JsonNode node, JsonGenerator out) throws IOException {
        if (node.isObject()) {
            TreeMap<String, JsonNode> sorted = new TreeMap<>();
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                sorted.put(field.getKey(), field.getValue());
            }
            out.writeStartObject();
            for (Map.Entry<String, JsonNode> field : sorted.entrySet()) {
                out.writeFieldName(field.getKey());
                write(field.getValue(), out);
            }
            out.writeEndObject();
        } else if (node.isArray()) {
            out.writeStartArray();
            for (JsonNode element : node) {
                write(element, out);
            }
            out.writeEndArray();
        } else if (node.isNumber()) {
            BigDecimal value = node.decimalValue().stripTrailingZeros();
            out.writeNumber(value.signum() == 0 ? "0" : value.toString());
        } else {
            MAPPER.writeTree(out, node);
        }
    }

    /** Builds a {@link JsonFingerprint}. Not thread-safe; the built fingerprint is. */
    public static final class Builder {
        private final Set<String> include = new TreeSet<>();
        private final Set<String> exclude = new TreeSet<>();

        private Builder() {
        }

        /** Keeps only these field paths (and what is below them). */
        public Builder include(String... paths) {
            include.addAll(checked(paths));
            return this;
        }

        /** Leaves these field paths out, such as a timestamp or a trace id that differs between retries. */
        public Builder exclude(String... paths) {
            exclude.addAll(checked(paths));
            return this;
        }

        /** The fingerprint. */
        public JsonFingerprint build() {
            return new JsonFingerprint(include, exclude);
        }

        private static List<String> checked(String... paths) {
            List<String> out = new ArrayList<>();
            for (String path : paths) {
                if (path == null || path.isBlank() || path.startsWith(".") || path.endsWith(".")
                        || path.contains("..")) {
                    throw new IllegalArgumentException("a field path is field names joined by dots, such as"
                            + " 'customer.email'; got '" + path + "'");
                }
                out.add(path);
            }
            return out;
        }
    }
}
