package org.idempotency.core;

import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.deser.AbstractDeserializer;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBase;
import com.fasterxml.jackson.databind.deser.DefaultDeserializationContext;
import com.fasterxml.jackson.databind.deser.SettableBeanProperty;
import com.fasterxml.jackson.databind.deser.impl.UnsupportedTypeDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.ser.impl.UnsupportedTypeSerializer;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.jspecify.annotations.Nullable;

/**
 * The default result codec: JSON through Jackson, decoded into the declared type (generic arguments
 * included). Polymorphic default typing is refused, because stored bytes are untrusted and default typing
 * lets them name classes to instantiate. Unknown properties are ignored on decode, so adding a field to a
 * result class does not break the replay of results stored before.
 *
 * <p>{@link #create()} handles the JDK types results usually hold: {@code java.time} values (written as ISO-8601
 * text, offsets and zone ids kept, so a replay is {@code equals} to the original), {@code Optional} and its
 * primitive variants, besides what Jackson handles by itself (records, beans, collections, {@code BigDecimal},
 * {@code UUID}, {@code URI}, enums).
 *
 * <p>A declared type the codec cannot handle is refused when the operation is created ({@link #forType}), not
 * found out when the first result is stored: a type with no constructor Jackson can use, an abstract type with
 * no way to pick a subtype, a type Jackson has no support for, or a class in a named module that does not open
 * (or, for public classes, export) its package to {@code com.fasterxml.jackson.databind}.
 *
 * <p>Thread-safe; readers and writers are prepared once per type.
 */
public final class JacksonResultCodec implements ResultCodec {

    private final ObjectMapper mapper;

    private JacksonResultCodec(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * A codec with a {@link JsonMapper} of its own: the {@code java.time} and JDK 8 modules registered, dates as
     * ISO-8601 text, unknown properties ignored. It reads public members of public classes without
     * {@code setAccessible}, so such result types need their package only exported, not opened, to Jackson.
     *
     * @return the codec
     */
    public static JacksonResultCodec create() {
        return new JacksonResultCodec(JsonMapper.builder()
                .addModule(new JavaTimeModule())
                .addModule(new Jdk8Module())
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
                .enable(SerializationFeature.WRITE_DATES_WITH_ZONE_ID)
                .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
                .disable(MapperFeature.OVERRIDE_PUBLIC_ACCESS_MODIFIERS)
                .build());
    }

    /**
     * A codec with the application's mapper (its modules, naming and date settings). The codec works on a copy
     * made now, so configuring the application's mapper later (default typing included) does not change it.
     *
     * @param mapper the application's mapper; copied
     * @return the codec
     * @throws IdempotencyConfigurationException if the mapper has polymorphic default typing activated
     */
    public static JacksonResultCodec using(ObjectMapper mapper) {
        ObjectMapper copy = mapper.copy();
        JavaType object = copy.constructType(Object.class);
        if (copy.getDeserializationConfig().getDefaultTyper(object) != null
                || copy.getSerializationConfig().getDefaultTyper(object) != null) {
            throw new IdempotencyConfigurationException("The ObjectMapper given to JacksonResultCodec has"
                    + " polymorphic default typing activated; stored results are untrusted input, so use a mapper"
                    + " without activateDefaultTyping(...)");
        }
        return new JacksonResultCodec(copy);
    }

    /**
     * Prepares the codec of one type, after checking that Jackson can write and read it.
     *
     * @throws IdempotencyConfigurationException if the type cannot be handled, naming the type and the fix
     */
    @Override
    public <T> Typed<T> forType(TypeRef<T> type) {
        JavaType javaType = mapper.constructType(type.type());
        new Probe(type).check(javaType);
        return new JacksonTyped<>(mapper.writerFor(javaType), mapper.readerFor(javaType), type);
    }

    /** Walks a type the way Jackson will, and refuses what Jackson would fail on when a result is stored. */
    private final class Probe {
        private final TypeRef<?> declared;
        private final Set<JavaType> seen = new HashSet<>();
        private final DeserializationContext reading;
        private final Module jackson = ObjectMapper.class.getModule();

        Probe(TypeRef<?> declared) {
            this.declared = declared;
            DeserializationConfig config = mapper.getDeserializationConfig();
            this.reading = ((DefaultDeserializationContext) mapper.getDeserializationContext())
                    .createDummyInstance(config);
        }

        void check(JavaType type) {
            if (!seen.add(type) || type.isPrimitive() || type.getRawClass() == Object.class
                    || type.getRawClass() == Void.class) {
                return;
            }
            if (type.isContainerType() || type.isReferenceType()) {
                if (type.getKeyType() != null) {
                    check(type.getKeyType());
                }
                if (type.getContentType() != null) {
                    check(type.getContentType());
                }
                return;
            }
            Class<?> raw = type.getRawClass();
            JsonSerializer<Object> serializer;
            JsonDeserializer<Object> deserializer;
            try {
                serializer = mapper.getSerializerProviderInstance().findValueSerializer(type);
                deserializer = reading.findRootValueDeserializer(type);
            } catch (IOException | RuntimeException e) {
                throw refused(raw, "Jackson cannot handle it: " + e.getMessage(), e);
            }
            if (serializer instanceof UnsupportedTypeSerializer
                    || deserializer instanceof UnsupportedTypeDeserializer) {
                throw refused(raw, "Jackson has no support for it; register the Jackson module for it with"
                        + " JacksonResultCodec.using(mapper), or declare a type of your own", null);
            }
            if (deserializer instanceof AbstractDeserializer) {
                throw refused(raw, "it is abstract and stored results carry no type information; declare a"
                        + " concrete type", null);
            }
            if (deserializer instanceof BeanDeserializerBase bean) {
                checkAccess(raw);
                if (!bean.getValueInstantiator().canInstantiate()) {
                    throw refused(raw, "it has no constructor Jackson can use: add a public no-argument"
                            + " constructor, a @JsonCreator, or make it a record", null);
                }
                checkProperties(bean.properties());
                checkProperties(bean.creatorProperties());
            }
        }

        private void checkProperties(Iterator<SettableBeanProperty> properties) {
            while (properties != null && properties.hasNext()) {
                check(properties.next().getType());
            }
        }

        /** In a named module, Jackson needs the package opened, or, for a public class, at least exported. */
        private void checkAccess(Class<?> raw) {
            Module module = raw.getModule();
            if (!module.isNamed()) {
                return;
            }
            String pkg = raw.getPackageName();
            boolean publicType = Modifier.isPublic(raw.getModifiers())
                    && (raw.getEnclosingClass() == null || Modifier.isPublic(raw.getEnclosingClass().getModifiers()));
            boolean reachable = module.isOpen(pkg, jackson)
                    || (publicType && module.isExported(pkg, jackson) && !needsPrivateAccess());
            if (!reachable) {
                throw refused(raw, "its module " + module.getName() + " does not open package " + pkg
                        + " to Jackson: add 'opens " + pkg + " to com.fasterxml.jackson.databind;' to its"
                        + " module-info.java", null);
            }
        }

        private boolean needsPrivateAccess() {
            return mapper.isEnabled(MapperFeature.OVERRIDE_PUBLIC_ACCESS_MODIFIERS);
        }

        private IdempotencyConfigurationException refused(Class<?> raw, String why, @Nullable Throwable cause) {
            String where = raw.getTypeName().equals(declared.type().getTypeName()) ? ""
                    : " (reached from the declared type " + declared + ")";
            return new IdempotencyConfigurationException("The result codec cannot store results of type "
                    + raw.getTypeName() + where + ": " + why, cause);
        }
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
