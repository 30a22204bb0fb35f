package org.idempotency.kafka;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.utils.Bytes;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.RequestHashes;
import org.idempotency.kafka.internal.RecordTexts;
import org.jspecify.annotations.Nullable;

/**
 * Derives the message key of a record: what makes two deliveries "the same message". The key is stored under
 * the handler's operation name, so two consumer groups doing different work on one topic must use two
 * operation names.
 *
 * <ul>
 *   <li>{@link #topicPartitionOffset()}: the record's position. Dedupes redelivery of the same record (after a
 *       crash or a rebalance), not the same message produced twice.</li>
 *   <li>{@link #header(String)}: a header carrying a business message id. Dedupes the same message however
 *       often it was produced, in whichever partition.</li>
 *   <li>{@link #recordKey()}: the record key, for topics whose key identifies one message.</li>
 *   <li>Any function of the record (this is a functional interface), and {@link #orElse} to fall back.</li>
 * </ul>
 *
 * <p>A strategy returns {@code null} when the record has no key of its kind; if no fallback gives one, the
 * record is refused with {@link RecordIdentityException}. Keys must follow the key rules (not blank, at most
 * 255 UTF-8 bytes, no control characters). Implementations must be stateless and thread-safe.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
@FunctionalInterface
public interface MessageKeyStrategy<K, V> {

    /**
     * The message key of a record, or {@code null} if the record has none of this kind.
     *
     * @param record the record
     * @return the message key, or {@code null}
     * @throws RecordIdentityException if the record has a key of this kind that cannot be used (such as a
     *     header that is not UTF-8 text)
     */
    @Nullable String messageKey(ConsumerRecord<K, V> record);

    /**
     * This strategy, or {@code fallback} for records where it finds no key.
     *
     * @param fallback the strategy for records without a key of this kind
     * @return the combined strategy
     */
    default MessageKeyStrategy<K, V> orElse(MessageKeyStrategy<K, V> fallback) {
        Objects.requireNonNull(fallback, "fallback must not be null");
        return record -> {
            String key = messageKey(record);
            return key != null ? key : fallback.messageKey(record);
        };
    }

    /**
     * The record's position, {@code topic:partition:offset} (the original design). A topic name too long for
     * the key limit is replaced by {@code sha256-} and its hash. Never {@code null}.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     * @return the strategy
     */
    static <K, V> MessageKeyStrategy<K, V> topicPartitionOffset() {
        return record -> {
            String topic = record.topic();
            String key = topic + ':' + record.partition() + ':' + record.offset();
            if (key.length() > IdempotencyKeys.MAX_KEY_BYTES) { // topic names are ASCII: one byte a character
                key = "sha256-" + RequestHashes.sha256(topic) + ':' + record.partition() + ':' + record.offset();
            }
            return key;
        };
    }

    /**
     * The value of the last header named {@code headerName}, decoded as UTF-8; {@code null} if the record has no
     * such header or it is empty.
     *
     * @param headerName the header's name, not empty
     * @param <K> the record key type
     * @param <V> the record value type
     * @return the strategy
     * @throws RecordIdentityException (when applied) if the header is not well-formed UTF-8
     */
    static <K, V> MessageKeyStrategy<K, V> header(String headerName) {
        Objects.requireNonNull(headerName, "headerName must not be null");
        if (headerName.isEmpty()) {
            throw new IllegalArgumentException("headerName must not be empty");
        }
        return record -> {
            Header header = record.headers().lastHeader(headerName);
            if (header == null || header.value() == null || header.value().length == 0) {
                return null;
            }
            String text = RecordTexts.strictUtf8(ByteBuffer.wrap(header.value()));
            if (text == null) {
                throw new RecordIdentityException("Header '" + headerName + "' of record "
                        + RecordTexts.coordinates(record) + " is not UTF-8 text; it cannot be a message id", null);
            }
            return text;
        };
    }

    /**
     * The record key as text: a {@code CharSequence} as it is; {@code byte[]}, {@link ByteBuffer} and
     * {@link Bytes} decoded as UTF-8; numbers and {@link UUID}s by {@code toString()}. {@code null} for records
     * without a key.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     * @return the strategy
     * @throws RecordIdentityException (when applied) for keys of other types, or bytes that are not UTF-8 text;
     *     use a function of your own for those
     */
    static <K, V> MessageKeyStrategy<K, V> recordKey() {
        return record -> {
            Object key = record.key();
            if (key == null) {
                return null;
            }
            if (key instanceof CharSequence || key instanceof Number || key instanceof UUID) {
                return key.toString();
            }
            ByteBuffer bytes = key instanceof byte[] array ? ByteBuffer.wrap(array)
                    : key instanceof ByteBuffer buffer ? buffer
                    : key instanceof Bytes kafkaBytes ? ByteBuffer.wrap(kafkaBytes.get())
                    : null;
            if (bytes == null) {
                throw new RecordIdentityException("The key of record " + RecordTexts.coordinates(record)
                        + " is a " + key.getClass().getName() + ", which has no defined text form; derive the"
                        + " message key with a function of your own", null);
            }
            String text = RecordTexts.strictUtf8(bytes);
            if (text == null) {
                throw new RecordIdentityException("The key of record " + RecordTexts.coordinates(record)
                        + " is not UTF-8 text; derive the message key with a function of your own", null);
            }
            return text;
        };
    }
}
