package org.idempotency.api;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.Objects;

/**
 * A captured Java type, generic arguments included, so a replay can decode a stored result into exactly the
 * declared type: {@code new TypeRef<List<Order>>() {}} or {@code TypeRef.of(Order.class)}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the captured type
 */
public abstract class TypeRef<T> {
    /** The captured type. */
    private final Type type;

    /** Captures the type argument of an anonymous subclass: {@code new TypeRef<List<Order>>() {}}. */
    protected TypeRef() {
        Type superclass = getClass().getGenericSuperclass();
        if (!(superclass instanceof ParameterizedType parameterized)) {
            throw new IllegalArgumentException(
                    "TypeRef must be created with a type argument, as in new TypeRef<List<Order>>() {}");
        }
        this.type = parameterized.getActualTypeArguments()[0];
    }

    private TypeRef(Type type) {
        this.type = type;
    }

    /**
     * The type of a non-generic class.
     *
     * @param <T> the class's type
     * @param type the class
     * @return its type reference
     */
    public static <T> TypeRef<T> of(Class<T> type) {
        Objects.requireNonNull(type, "type");
        return new TypeRef<>(type) { };
    }

    /**
     * The captured type.
     *
     * @return the type, generic arguments included
     */
    public final Type type() {
        return type;
    }

    @Override
    public final boolean equals(Object other) {
        return other instanceof TypeRef<?> that && type.equals(that.type);
    }

    @Override
    public final int hashCode() {
        return type.hashCode();
    }

    @Override
    public final String toString() {
        return type.getTypeName();
    }
}
