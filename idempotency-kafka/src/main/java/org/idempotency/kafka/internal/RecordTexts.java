package org.idempotency.kafka.internal;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.jspecify.annotations.Nullable;

/** Text helpers for records: coordinates for messages and logs, strict UTF-8 decoding. Stateless. */
public final class RecordTexts {

    private RecordTexts() {
    }

    /** {@code topic-partition@offset}, the record's coordinates for messages and logs (never its payload). */
    public static String coordinates(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /** {@code topic-partition@offset}. */
    public static String coordinates(TopicPartition partition, long offset) {
        return partition + "@" + offset;
    }

    /**
     * Decodes UTF-8 strictly: malformed input is an error rather than replacement characters, so two different
     * byte strings never decode to the same text.
     *
     * @return the text, or {@code null} if the bytes are not well-formed UTF-8
     */
    public static @Nullable String strictUtf8(ByteBuffer bytes) {
        if (bytes.hasArray()) {
            // the platform's decoder (intrinsic for ASCII) replaces malformed input with U+FFFD; text without
            // it decoded exactly, text with it is decoded again strictly (it may be a genuine U+FFFD)
            String text = new String(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining(),
                    StandardCharsets.UTF_8);
            if (text.indexOf('\uFFFD') < 0) {
                return text;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes.duplicate())
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** A throwable as {@code class: message}, the message cut to {@code maxLength} characters. */
    public static String describe(Throwable error, int maxLength) {
        String text = error.getClass().getName() + (error.getMessage() == null ? "" : ": " + error.getMessage());
        return text.length() <= maxLength ? text : text.substring(0, maxLength) + "…";
    }
}
