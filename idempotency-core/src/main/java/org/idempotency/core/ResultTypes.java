package org.idempotency.core;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZonedDateTime;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.jspecify.annotations.Nullable;

/**
 * The codec of {@link Idempotency#execute}, whose results have no declared type: a stored result is the name of
 * its class, a line feed, and the result encoded by the engine's codec as that class. A replay decodes into
 * the named class only if it is one of the engine's result types (the JDK value types below, and those the
 * application listed with {@link Idempotency.Builder#resultTypes}); stored bytes naming any other class are
 * refused, never instantiated. A result of a class that is not listed cannot be stored: it is not kept, and
 * the message says how to list it.
 *
 * <p>Immutable and thread-safe.
 */
final class ResultTypes implements ResultCodec.Typed<Object> {

    /** The value types every engine accepts without being told. */
    static final List<Class<?>> BUILT_IN = List.of(String.class, Boolean.class, Character.class, Byte.class,
            Short.class, Integer.class, Long.class, Float.class, Double.class, BigInteger.class, BigDecimal.class,
            UUID.class, URI.class, Instant.class, LocalDate.class, LocalDateTime.class, LocalTime.class,
            OffsetDateTime.class, ZonedDateTime.class, Duration.class, Period.class);

    private final Map<String, ResultCodec.Typed<Object>> byName;

    private ResultTypes(Map<String, ResultCodec.Typed<Object>> byName) {
        this.byName = byName;
    }

    /**
     * The codec for the built-in types and {@code allowed}, each checked by the engine's codec.
     *
     * @throws org.idempotency.api.IdempotencyConfigurationException if the codec cannot handle one of them
     */
    @SuppressWarnings("unchecked")
    static ResultTypes of(ResultCodec codec, List<Class<?>> allowed) {
        Map<String, ResultCodec.Typed<Object>> byName = new LinkedHashMap<>();
        for (Class<?> type : BUILT_IN) {
            byName.put(type.getName(), (ResultCodec.Typed<Object>) codec.forType(TypeRef.of(type)));
        }
        for (Class<?> type : allowed) {
            byName.put(type.getName(), (ResultCodec.Typed<Object>) codec.forType(TypeRef.of(type)));
        }
        return new ResultTypes(Map.copyOf(byName));
    }

    @Override
    public byte[] encode(@Nullable Object value) {
        if (value == null) {
            return new byte[] {'\n'};
        }
        String name = value.getClass().getName();
        ResultCodec.Typed<Object> typed = byName.get(name);
        if (typed == null) {
            throw new IdempotencyCodecException("A result of class " + name + " cannot be stored: it is not one of"
                    + " the engine's result types. List it with Idempotency.builder(store).resultTypes("
                    + value.getClass().getSimpleName() + ".class), or use a typed operation"
                    + " (idempotency.operation(name, type))", null, null);
        }
        byte[] payload = typed.encode(value);
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(nameBytes, nameBytes.length + 1 + payload.length);
        out[nameBytes.length] = '\n';
        System.arraycopy(payload, 0, out, nameBytes.length + 1, payload.length);
        return out;
    }

    @Override
    public @Nullable Object decode(byte[] bytes) {
        int end = 0;
        while (end < bytes.length && bytes[end] != '\n') {
            end++;
        }
        if (end == bytes.length) {
            throw new IdempotencyCodecException("A stored result names no class: it was not written by"
                    + " Idempotency.execute", null, null);
        }
        if (end == 0) {
            return null;
        }
        String name = new String(bytes, 0, end, StandardCharsets.UTF_8);
        ResultCodec.Typed<Object> typed = byName.get(name);
        if (typed == null) {
            throw new IdempotencyCodecException("A stored result names class '" + IdempotencyException.safeKey(name)
                    + "', which is not one of this engine's result types; it is not instantiated. If the"
                    + " application returns it, list it with Idempotency.builder(store).resultTypes(...)", null, null);
        }
        return typed.decode(Arrays.copyOfRange(bytes, end + 1, bytes.length));
    }
}
