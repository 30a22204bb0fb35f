package org.idempotency.spring.jackson;

import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.ValueDeserializer;
import tools.jackson.databind.ValueSerializer;
import tools.jackson.databind.cfg.DateTimeFeature;
import tools.jackson.databind.deser.AbstractDeserializer;
import tools.jackson.databind.deser.SettableBeanProperty;
import tools.jackson.databind.deser.bean.BeanDeserializerBase;
import tools.jackson.databind.deser.impl.UnsupportedTypeDeserializer;
import tools.jackson.databind.ser.impl.UnsupportedTypeSerializer;

/**
 * The result codec on an application's Jackson 3 mapper (Spring Boot 4's {@code JsonMapper}), with the rules of
 * the core's Jackson 2 codec ({@link org.idempotency.core.JacksonResultCodec}): a mapper with polymorphic default
 * typing is refused (stored bytes are untrusted), unknown properties are ignored on replay, and a declared type
 * the mapper cannot write and read back (no usable constructor, abstract without type information, unsupported,
 * in a module that does not open its package) is refused when the operation is created. Jackson 3 writes
 * {@code java.time} values as ISO-8601 text by default, so such results replay equal.
 *
 * <p>Results stored by the Jackson 2 codec read back with this one, and the other way round, as long as both
 * mappers write the same JSON for the type (names, dates as text): an application can move from Spring Boot 3
 * to 4 with records in flight.
 *
 * <p>Thread-safe; readers and writers are prepared once per type.
 */
public final class Jackson3ResultCodec implements ResultCodec {

    private final ObjectMapper mapper;

    private Jackson3ResultCodec(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * A codec on a copy of the application's mapper (its modules and naming) with unknown properties ignored and
     * {@code java.time} values written so that replays are equal (ISO-8601 text, offsets and zone ids kept, not
     * adjusted to the context's time zone); configuring the application's mapper later does not change it.
     *
     * @param mapper the application's mapper
     * @return the codec
     * @throws IdempotencyConfigurationException if the mapper has polymorphic default typing activated
     */
    public static Jackson3ResultCodec using(ObjectMapper mapper) {
        Objects.requireNonNull(mapper, "mapper must not be null");
        JavaType object = mapper.constructType(Object.class);
        if (mapper.deserializationConfig().getDefaultTyper(object) != null
                || mapper.serializationConfig().getDefaultTyper(object) != null) {
            throw new IdempotencyConfigurationException("The Jackson 3 mapper given to Jackson3ResultCodec has"
                    + " polymorphic default typing activated; stored results are untrusted input, so use a mapper"
                    + " without activateDefaultTyping(...)");
        }
        ObjectMapper copy = mapper.rebuild()
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                // a replay must equal the original: offsets and zone ids kept, dates and durations as ISO-8601 text
                .disable(DateTimeFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
                .enable(DateTimeFeature.WRITE_DATES_WITH_ZONE_ID)
                .disable(DateTimeFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(DateTimeFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
                .build();
        return new Jackson3ResultCodec(copy);
    }

    /**
     * Prepares the codec of one type, after checking that the mapper can write and read it.
     *
     * @throws IdempotencyConfigurationException if the type cannot be handled, naming the type and the fix
     */
    @Override
    public <T> Typed<T> forType(TypeRef<T> type) {
        JavaType javaType = mapper.constructType(type.type());
        new Probe(type).check(javaType);
        return new Typed3<>(mapper.writerFor(javaType), mapper.readerFor(javaType), type);
    }

    @Override
    public String toString() {
        return "Jackson3ResultCodec";
    }

    /** Walks a type the way Jackson will, and refuses what Jackson would fail on when a result is stored. */
    private final class Probe {
        private final TypeRef<?> declared;
        private final Set<JavaType> seen = new HashSet<>();
        private final SerializationContext writing = mapper._serializationContext();
        private final DeserializationContext reading = mapper._deserializationContext();
        private final Module jackson = ObjectMapper.class.getModule();

        Probe(TypeRef<?> declared) {
            this.declared = declared;
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
            ValueSerializer<Object> serializer;
            ValueDeserializer<Object> deserializer;
            try {
                serializer = writing.findValueSerializer(type);
                deserializer = reading.findRootValueDeserializer(type);
            } catch (JacksonException | IllegalArgumentException e) {
                throw refused(raw, "Jackson cannot handle it: " + e.getMessage(), e);
            }
            if (serializer instanceof UnsupportedTypeSerializer
                    || deserializer instanceof UnsupportedTypeDeserializer) {
                throw refused(raw, "Jackson has no support for it; register the Jackson module for it on the"
                        + " application's mapper, or declare a type of your own", null);
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

        private void checkProperties(@Nullable Iterator<SettableBeanProperty> properties) {
            while (properties != null && properties.hasNext()) {
                check(properties.next().getType());
            }
        }

        private void checkAccess(Class<?> raw) {
            Module module = raw.getModule();
            if (!module.isNamed()) {
                return;
            }
            String pkg = raw.getPackageName();
            boolean publicType = Modifier.isPublic(raw.getModifiers())
                    && (raw.getEnclosingClass() == null || Modifier.isPublic(raw.getEnclosingClass().getModifiers()));
            boolean reachable = module.isOpen(pkg, jackson) || (publicType && module.isExported(pkg, jackson)
                    && !mapper.isEnabled(MapperFeature.OVERRIDE_PUBLIC_ACCESS_MODIFIERS));
            if (!reachable) {
                throw refused(raw, "its module " + module.getName() + " does not open package " + pkg
                        + " to Jackson: add 'opens " + pkg + " to tools.jackson.databind;' to its"
                        + " module-info.java", null);
            }
        }

        private IdempotencyConfigurationException refused(Class<?> raw, String why, @Nullable Throwable cause) {
            String where = raw.getTypeName().equals(declared.type().getTypeName()) ? ""
                    : " (reached from the declared type " + declared + ")";
            return new IdempotencyConfigurationException("The result codec cannot store results of type "
                    + raw.getTypeName() + where + ": " + why, cause);
        }
    }

    private static final class Typed3<T> implements Typed<T> {
        private final ObjectWriter writer;
        private final ObjectReader reader;
        private final TypeRef<T> type;

        Typed3(ObjectWriter writer, ObjectReader reader, TypeRef<T> type) {
            this.writer = writer;
            this.reader = reader;
            this.type = type;
        }

        @Override
        public byte[] encode(T value) {
            try {
                return writer.writeValueAsBytes(value);
            } catch (JacksonException e) {
                throw new IdempotencyCodecException("Cannot encode a result of type " + type + " as JSON", null, e);
            }
        }

        @Override
        public T decode(byte[] bytes) {
            try {
                return reader.readValue(bytes);
            } catch (JacksonException e) {
                throw new IdempotencyCodecException("Cannot decode a stored result as " + type, null, e);
            }
        }
    }
}
