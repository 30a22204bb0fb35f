package org.idempotency.core;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;

/**
 * The default result codec: JSON through Jackson, decoded into the declared type (generic arguments
 * included). Polymorphic default typing is refused, because stored bytes are untrusted and default typing
 * lets them name classes to instantiate. Unknown properties are ignored on decode, so adding a field to a
 * result class does not break the replay of results stored before.
 *
 * <p>Thread-safe; readers and writers are prepared once per type.
 */
public final class JacksonResultCodec implements ResultCodec {

    private final ObjectMapper mapper;

    private JacksonResultCodec(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** A codec with a plain {@link JsonMapper} that ignores unknown properties. */
    public static JacksonResultCodec create() {
        return new JacksonResultCodec(JsonMapper.builder()
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .build());
    }

    /**
     * A codec with the application's mapper (its modules, naming and date settings).
     *
     * @throws IdempotencyConfigurationException if the mapper has polymorphic default typing activated
     */
    public static JacksonResultCodec using(ObjectMapper mapper) {
        JavaType object = mapper.constructType(Object.class);
        if (mapper.getDeserializationConfig().getDefaultTyper(object) != null
                || mapper.getSerializationConfig().getDefaultTyper(object) != null) {
            throw new IdempotencyConfigurationException("The ObjectMapper given to JacksonResultCodec has"
                    + " polymorphic default typing activated; stored results are untrusted input, so use a mapper"
                    + " without activateDefaultTyping(...)");
        }
        return new JacksonResultCodec(mapper);
    }

    @Override
    public <T> Typed<T> forType(TypeRef<T> type) {
        JavaType javaType = mapper.constructType(type.type());
        return new JacksonTyped<>(mapper.writerFor(javaType), mapper.readerFor(javaType), type);
    }

    private static final class JacksonTyped<T> implements Typed<T> {
        private final ObjectWriter writer;
        private final ObjectReader reader;
        private final TypeRef<T> type;

        JacksonTyped(ObjectWriter writer, ObjectReader reader, TypeRef<T> type) {
            this.writer = writer;
            this.reader = reader;
            this.type = type;
        }

        @Override
        public byte[] encode(T value) {
            try {
                return writer.writeValueAsBytes(value);
            } catch (IOException e) {
                throw new IdempotencyCodecException("Cannot encode a result of type " + type + " as JSON", null, e);
            }
        }

        @Override
        public T decode(byte[] bytes) {
            try {
                return reader.readValue(bytes);
            } catch (IOException e) {
                throw new IdempotencyCodecException("Cannot decode a stored result as " + type, null, e);
            }
        }
    }
}
