package org.idempotency.spring;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.util.Objects;
import org.idempotency.core.JsonFingerprint;

/**
 * The default {@link RequestHasher}: writes the value as JSON with a Jackson 2 mapper and hashes its canonical
 * form ({@link JsonFingerprint}: object keys sorted, numbers and whitespace normalised, SHA-256), so the same
 * arguments hash alike on every instance whatever the order of a map's entries.
 *
 * <p>Thread-safe.
 */
public final class JacksonRequestHasher implements RequestHasher {

    private final ObjectMapper mapper;

    private JacksonRequestHasher(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * A hasher with a mapper of its own ({@code java.time} and {@code Optional} values supported). A value with
     * nothing Jackson can write (an object without properties) is refused rather than hashed as {@code {}},
     * which would make every call look alike.
     *
     * @return the hasher
     */
    public static JacksonRequestHasher create() {
        return new JacksonRequestHasher(JsonMapper.builder()
                .addModule(new JavaTimeModule())
                .addModule(new Jdk8Module())
                .build());
    }

    /**
     * A hasher with the application's mapper, so that arguments are written as the application writes them.
     *
     * @param mapper the mapper; used as it is
     * @return the hasher
     */
    public static JacksonRequestHasher using(ObjectMapper mapper) {
        return new JacksonRequestHasher(Objects.requireNonNull(mapper, "mapper must not be null"));
    }

    @Override
    public String hash(Object value) {
        byte[] json;
        try {
            json = mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Cannot write the arguments of an idempotent method as JSON to hash"
                    + " them (" + value.getClass().getName() + "): " + e.getOriginalMessage()
                    + "; select what to hash with @Idempotent(hash = ...)", e);
        }
        return JsonFingerprint.defaults().hash(json);
    }
}
