package org.idempotency.api;

/**
 * Turns results into stored bytes and back. The default is Jackson JSON without polymorphic default typing;
 * implementations must never use Java serialization, because stored bytes are untrusted.
 *
 * <p>Implementations are thread-safe. {@link #forType(TypeRef)} is called once per operation handle, so a
 * codec can prepare readers and writers for the type up front.
 */
public interface ResultCodec {

    /**
     * A codec bound to one result type.
     *
     * @param <T> the result type
     * @param type the declared result type, generic arguments included
     * @return the codec for that type
     * @throws IdempotencyConfigurationException if the type cannot be handled by this codec
     */
    <T> Typed<T> forType(TypeRef<T> type);

    /**
     * Encodes and decodes values of one type. Thread-safe.
     *
     * @param <T> the result type
     */
    interface Typed<T> {
        /**
         * Encodes a result, {@code null} included.
         *
         * @param value the result
         * @return the bytes to store
         * @throws IdempotencyCodecException if the value cannot be encoded
         */
        byte[] encode(T value);

        /**
         * Decodes stored bytes into the bound type; may return {@code null} if {@code null} was encoded.
         *
         * @param bytes the stored bytes
         * @return the result
         * @throws IdempotencyCodecException if the bytes do not decode into the type
         */
        T decode(byte[] bytes);
    }
}
