package org.idempotency.api;

import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
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
     * A type obtained by reflection, such as a method's generic return type, for adapters that learn the
     * result type at run time. The caller vouches that values of this type are {@code T}.
     *
     * @param type a class, or a parameterized, wildcard or array type made of classes (no type variables)
     * @return the type reference
     * @throws IllegalArgumentException if the type contains a type variable
     */
    public static TypeRef<?> of(Type type) {
        Objects.requireNonNull(type, "type");
        requireResolved(type, type);
        return new TypeRef<>(type) { };
    }

    private static void requireResolved(Type part, Type whole) {
        if (part instanceof ParameterizedType parameterized) {
            for (Type argument : parameterized.getActualTypeArguments()) {
                requireResolved(argument, whole);
            }
        } else if (part instanceof GenericArrayType array) {
            requireResolved(array.getGenericComponentType(), whole);
        } else if (part instanceof WildcardType wildcard) {
            for (Type bound : wildcard.getUpperBounds()) {
                requireResolved(bound, whole);
            }
            for (Type bound : wildcard.getLowerBounds()) {
                requireResolved(bound, whole);
            }
        } else if (!(part instanceof Class<?>)) {
            throw new IllegalArgumentException("TypeRef needs a resolved type; " + whole.getTypeName()
                    + " contains the type variable " + part.getTypeName());
        }
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
