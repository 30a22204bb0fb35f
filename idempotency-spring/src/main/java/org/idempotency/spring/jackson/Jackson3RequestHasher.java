package org.idempotency.spring.jackson;

import java.util.Objects;
import org.idempotency.core.JsonFingerprint;
import org.idempotency.spring.RequestHasher;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.ObjectMapper;

/**
 * A {@link RequestHasher} on an application's Jackson 3 mapper: writes the value as JSON as the application
 * writes it and hashes its canonical form ({@link JsonFingerprint}). The hash of a value does not depend on the
 * mapper's property order or formatting, so instances on Jackson 2 and Jackson 3 agree whenever both write the
 * same members with the same values.
 *
 * <p>Thread-safe.
 */
public final class Jackson3RequestHasher implements RequestHasher {

    private final ObjectMapper mapper;

    private Jackson3RequestHasher(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * A hasher with the application's mapper.
     *
     * @param mapper the mapper; used as it is
     * @return the hasher
     */
    public static Jackson3RequestHasher using(ObjectMapper mapper) {
        return new Jackson3RequestHasher(Objects.requireNonNull(mapper, "mapper must not be null"));
    }

    @Override
    public String hash(Object value) {
        byte[] json;
        try {
            json = mapper.writeValueAsBytes(value);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("Cannot write the arguments of an idempotent method as JSON to hash"
                    + " them (" + value.getClass().getName() + "): " + e.getOriginalMessage()
                    + "; select what to hash with @Idempotent(hash = ...)", e);
        }
        return JsonFingerprint.defaults().hash(json);
    }
}
