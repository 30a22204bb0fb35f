package org.idempotency.kafka;

import java.nio.ByteBuffer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Bytes;
import org.idempotency.core.RequestHashes;
import org.idempotency.kafka.internal.RecordTexts;
import org.jspecify.annotations.Nullable;

/**
 * Derives the request hash of a record: two deliveries with one message key but different hashes are not the
 * same message, and {@link IdempotentRecordHandler} reports them (see {@link KeyReusePolicy}).
 *
 * <p>The default, {@link #payloadSha256()}, hashes the record value's bytes. Implementations must be stateless
 * and thread-safe; returning {@code null} skips the check for that record.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
@FunctionalInterface
public interface RequestHashStrategy<K, V> {

    /** The hash a tombstone (a record whose value is {@code null}) gets from {@link #payloadSha256()}. */
    String NULL_VALUE_HASH = "null-value";

    /**
     * The request hash of a record, or {@code null} to skip the check.
     *
     * @param record the record
     * @return the hash, or {@code null}
     * @throws RecordIdentityException if the record's payload cannot be hashed
     */
    @Nullable String requestHash(ConsumerRecord<K, V> record);

    /**
     * SHA-256 of the value's bytes, in hex (the text {@code RequestHashes.sha256} gives): {@code byte[]},
     * {@link ByteBuffer} and {@link Bytes} values as they are, {@code CharSequence} values as UTF-8 (which is
     * what {@code StringDeserializer} decoded, so the hash equals that of the bytes on the wire). A {@code null}
     * value (a tombstone) hashes to {@link #NULL_VALUE_HASH}. Headers and the record key are not part of the
     * hash.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     * @return the strategy
     * @throws RecordIdentityException (when applied) for values of other types: deserialized objects have no
     *     canonical bytes, so hash them with a function of your own (for JSON, {@code JsonFingerprint})
     */
    static <K, V> RequestHashStrategy<K, V> payloadSha256() {
        return record -> {
            Object value = record.value();
            if (value == null) {
                return NULL_VALUE_HASH;
            }
            if (value instanceof byte[] bytes) {
                return RequestHashes.sha256(bytes);
            }
            if (value instanceof CharSequence text) {
                // WTF-8: the UTF-8 bytes of well-formed text, and distinct bytes for a lone surrogate, which
                // UTF-8 would turn into '?' so that two different payloads hashed alike
                return RequestHashes.sha256(RequestHashes.wtf8(text.toString()));
            }
            if (value instanceof Bytes bytes) {
                return RequestHashes.sha256(bytes.get());
            }
            if (value instanceof ByteBuffer buffer) {
                byte[] remaining = new byte[buffer.remaining()];
                buffer.duplicate().get(remaining); // the buffer's position is not moved
                return RequestHashes.sha256(remaining);
            }
            throw new RecordIdentityException("The value of record " + RecordTexts.coordinates(record) + " is a "
                    + value.getClass().getName() + ", which has no canonical bytes to hash; configure a request"
                    + " hash of your own (or none)", null);
        };
    }

    /**
     * No request hash: a message key reused with a different payload is not detected.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     * @return the strategy
     */
    static <K, V> RequestHashStrategy<K, V> none() {
        return record -> null;
    }
}
