package org.idempotency.redis.internal;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.jspecify.annotations.Nullable;

/**
 * The value of a record as {@link RedisScripts} write it: a status letter ({@code P} in progress, {@code C}
 * completed, {@code F} failed, {@code R} a tombstone), then eleven fields, each {@code <length>:<bytes>} or
 * {@code -} when absent:
 * <ol>
 *   <li>{@code token}: the fencing token, decimal;</li>
 *   <li>{@code at_ms}: when the record was last written, epoch milliseconds by the server's clock;</li>
 *   <li>{@code lease_ms}: the length of the lease, so the lease ends at {@code at_ms + lease_ms} (read for
 *       records in progress only);</li>
 *   <li>{@code keep_ms}: how long the record stays visible, until {@code at_ms + keep_ms}, which is when the
 *       key expires (two leases for work in progress, the retention for finished work);</li>
 *   <li>{@code hash}: the request hash, absent when none was given;</li>
 *   <li>{@code op}: the id of the last call that changed the record, so that a call re-sent by the client
 *       after a lost reply gets the answer of its first attempt instead of being refused by its own effect;</li>
 *   <li>{@code takeover}: {@code 1} when the owner took over an expired lease;</li>
 *   <li>{@code code}: the status code of a completed record;</li>
 *   <li>{@code error_type}, {@code error_message}: the failure of a failed record;</li>
 *   <li>{@code payload}: the result bytes of a completed record, absent when the result was not kept.</li>
 * </ol>
 * For example {@code P16:1795716968808223 13:1795716968808 5:30000 5:60000 2:h1 32:<id> -----} (without
 * the spaces). Text fields (hash, error type and message) hold the UTF-8 of their {@linkplain StoredText stored
 * form}, which is the text itself unless it holds U+0000 or an unpaired surrogate or starts with U+0001. This
 * class reads values and encodes the fields that callers send to the scripts.
 *
 * <p>Stateless and thread-safe.
 */
public final class RecordFormat {

    /** The number of fields after the status letter. */
    public static final int FIELDS = 11;
    /** The marker of an absent field. */
    public static final byte[] ABSENT = {'-'};
    static final int TOKEN = 0;
    static final int AT = 1;
    static final int LEASE = 2;
    static final int KEEP = 3;
    static final int HASH = 4;
    static final int CODE = 7;
    static final int ERROR_TYPE = 8;
    static final int ERROR_MESSAGE = 9;
    static final int PAYLOAD = 10;

    private RecordFormat() {
    }

    /** The status letter of a stored value. */
    public static char status(byte[] value) {
        return value.length == 0 ? '?' : (char) value[0];
    }

    /**
     * The fields of a stored value, each as its bytes or {@code null} when absent.
     *
     * @throws IllegalArgumentException if the value is not in the record format
     */
    public static byte[][] fields(byte[] value) {
        byte[][] fields = new byte[FIELDS][];
        int pos = 1;
        for (int i = 0; i < FIELDS; i++) {
            if (pos >= value.length) {
                throw new Malformed("the value ends before field " + (i + 1));
            }
            if (value[pos] == '-') {
                pos++;
                continue;
            }
            int length = 0;
            int digits = 0;
            while (pos < value.length && value[pos] != ':') {
                byte digit = value[pos++];
                if (digit < '0' || digit > '9' || ++digits > 9) {
                    throw new Malformed("field " + (i + 1) + " has no valid length");
                }
                length = length * 10 + (digit - '0');
            }
            int start = pos + 1;
            if (digits == 0 || start + length > value.length) {
                throw new Malformed("field " + (i + 1) + " is cut short");
            }
            fields[i] = Arrays.copyOfRange(value, start, start + length);
            pos = start + length;
        }
        if (pos != value.length) {
            throw new Malformed("the value goes on after the last field");
        }
        return fields;
    }

    /** The record a stored value holds, for the stored key {@code key}. */
    public static IdempotencyRecord record(String key, byte[] value) {
        try {
            byte[][] f = fields(value);
            long token = number(f[TOKEN]);
            long at = number(f[AT]);
            Instant expiresAt = Instant.ofEpochMilli(at + number(f[KEEP]));
            String hash = text(f[HASH]);
            switch (status(value)) {
                case 'P':
                    return IdempotencyRecord.inProgress(key, hash, token, Instant.ofEpochMilli(at + number(f[LEASE])),
                            expiresAt);
                case 'C':
                    int code = f[CODE] == null ? 0 : Math.toIntExact(number(f[CODE]));
                    return IdempotencyRecord.completed(key, hash, token, new StoredResult(f[PAYLOAD], code), expiresAt);
                case 'F':
                    String type = text(f[ERROR_TYPE]);
                    if (type == null) {
                        throw new Malformed("a failed record without an error type");
                    }
                    return IdempotencyRecord.failed(key, hash, token, new StoredFailure(type, text(f[ERROR_MESSAGE])),
                            expiresAt);
                default:
                    throw new Malformed("an unknown status");
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            // this class's messages name the broken rule; others (the value types') may quote the content
            String reason = e instanceof Malformed ? e.getMessage() : "a field out of range";
            throw new IdempotencyStoreException("Redis holds a malformed idempotency record (" + reason
                    + "); is another application writing under this key prefix?", key, null);
        }
    }

    /*
     * The encoders below write each field straight into the array they return: one allocation per argument, no
     * intermediate strings (a first call encodes a handful of fields; this is most of what the store allocates
     * itself).
     */

    /** A field holding {@code value}: its length in decimal, a colon, the bytes. */
    public static byte[] field(byte[] value) {
        int header = digits(value.length) + 1;
        byte[] out = new byte[header + value.length];
        writeHeader(out, 0, value.length);
        System.arraycopy(value, 0, out, header, value.length);
        return out;
    }

    /** A field holding a number in decimal. */
    public static byte[] field(long value) {
        if (value < 0) {
            return field(Long.toString(value).getBytes(StandardCharsets.US_ASCII));
        }
        int length = digits(value);
        byte[] out = new byte[digits(length) + 1 + length];
        writeDecimal(out, out.length, value);
        writeHeader(out, 0, length);
        return out;
    }

    /**
     * A field holding {@code prefix} followed by {@code counter} in decimal, such as a call id.
     *
     * @param counter not negative
     */
    public static byte[] field(byte[] prefix, long counter) {
        if (counter < 0) {
            throw new IllegalArgumentException("counter must not be negative, was " + counter);
        }
        int length = prefix.length + digits(counter);
        int header = digits(length) + 1;
        byte[] out = new byte[header + length];
        writeHeader(out, 0, length);
        System.arraycopy(prefix, 0, out, header, prefix.length);
        writeDecimal(out, out.length, counter);
        return out;
    }

    /**
     * A field holding text: its {@linkplain StoredText stored form} in UTF-8, which keeps every string (U+0000 and
     * unpaired surrogates included) and tells different strings apart; {@link #ABSENT} for {@code null}.
     */
    public static byte[] field(@Nullable String value) {
        if (value == null) {
            return ABSENT;
        }
        if (isPlainAscii(value)) { // its own stored form, one byte a character: hex and Base64 hashes
            int length = value.length();
            int header = digits(length) + 1;
            byte[] out = new byte[header + length];
            writeHeader(out, 0, length);
            for (int i = 0; i < length; i++) {
                out[header + i] = (byte) value.charAt(i);
            }
            return out;
        }
        return field(StoredText.encode(value).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The fields of a completed record from {@code takeover} on, in one array: no takeover, the status code (absent
     * for 0), no error type or message, the payload (absent for {@code null}).
     */
    public static byte[] completionTail(int statusCode, byte @Nullable [] payload) {
        byte[] out = new byte[completionTailLength(statusCode, payload)];
        writeCompletionTail(out, 0, statusCode, payload);
        return out;
    }

    /*
     * The single argument of the acquire, complete and fail scripts (see RedisScripts), written in one array: the
     * client copies, wraps and writes every argument, so one argument instead of four or five saves it the most.
     */

    /**
     * The argument of the acquire script: the fields lease_ms and keep_ms ({@code leaseFields}, already encoded),
     * the request hash (as {@link #field(String)} encodes it) and the call id ({@code callIdPrefix} followed by
     * {@code call} in decimal), in the record's order.
     *
     * @param call not negative
     */
    public static byte[] acquireArgument(byte[] leaseFields, @Nullable String requestHash, byte[] callIdPrefix,
            long call) {
        byte[] encodedHash = requestHash == null || isPlainAscii(requestHash) ? null
                : StoredText.encode(requestHash).getBytes(StandardCharsets.UTF_8);
        int hashLength = requestHash == null ? 1
                : fieldLength(encodedHash == null ? requestHash.length() : encodedHash.length);
        byte[] out = new byte[leaseFields.length + hashLength + callIdLength(callIdPrefix, call)];
        System.arraycopy(leaseFields, 0, out, 0, leaseFields.length);
        int at = leaseFields.length;
        if (requestHash == null) {
            out[at++] = '-';
        } else if (encodedHash == null) {
            int length = requestHash.length();
            at = writeHeader(out, at, length);
            for (int i = 0; i < length; i++) {
                out[at++] = (byte) requestHash.charAt(i);
            }
        } else {
            at = writeHeader(out, at, encodedHash.length);
            System.arraycopy(encodedHash, 0, out, at, encodedHash.length);
            at += encodedHash.length;
        }
        writeCallId(out, at, callIdPrefix, call);
        return out;
    }

    /**
     * The argument of the complete script: the fields token, keep_ms ({@code keepField}, already encoded) and the
     * call id, then {@link #completionTail the completion's fields from takeover on}.
     *
     * @param call not negative
     */
    public static byte[] completionArgument(long token, byte[] keepField, byte[] callIdPrefix, long call,
            int statusCode, byte @Nullable [] payload) {
        int tail = completionTailLength(statusCode, payload);
        byte[] out = new byte[finishHeadLength(token, keepField, callIdPrefix, call) + tail];
        writeFinishHead(out, token, keepField, callIdPrefix, call);
        writeCompletionTail(out, out.length - tail, statusCode, payload);
        return out;
    }

    /**
     * The argument of the fail script: the fields token, keep_ms ({@code keepField}, already encoded) and the call
     * id, then the failure's fields from takeover on: no takeover, no code, the error type and message, no payload.
     *
     * @param call not negative
     */
    public static byte[] failureArgument(long token, byte[] keepField, byte[] callIdPrefix, long call,
            StoredFailure failure) {
        byte[] type = field(failure.type());
        byte[] message = field(failure.message());
        int tail = 2 + type.length + message.length + 1;
        byte[] out = new byte[finishHeadLength(token, keepField, callIdPrefix, call) + tail];
        int at = writeFinishHead(out, token, keepField, callIdPrefix, call);
        out[at++] = '-';
        out[at++] = '-';
        System.arraycopy(type, 0, out, at, type.length);
        at += type.length;
        System.arraycopy(message, 0, out, at, message.length);
        out[at + message.length] = '-';
        return out;
    }

    private static int completionTailLength(int statusCode, byte @Nullable [] payload) {
        return 1 + (statusCode == 0 ? 1 : numberFieldLength(statusCode)) + 2
                + (payload == null ? 1 : fieldLength(payload.length));
    }

    private static void writeCompletionTail(byte[] out, int from, int statusCode, byte @Nullable [] payload) {
        int at = from;
        out[at++] = '-';
        if (statusCode == 0) {
            out[at++] = '-';
        } else {
            at = writeNumberField(out, at, statusCode);
        }
        out[at++] = '-';
        out[at++] = '-';
        if (payload == null) {
            out[at] = '-';
        } else {
            at = writeHeader(out, at, payload.length);
            System.arraycopy(payload, 0, out, at, payload.length);
        }
    }

    private static int finishHeadLength(long token, byte[] keepField, byte[] callIdPrefix, long call) {
        return numberFieldLength(token) + keepField.length + callIdLength(callIdPrefix, call);
    }

    /** Writes the fields token, keep_ms and the call id at the start of {@code out}; returns where they end. */
    private static int writeFinishHead(byte[] out, long token, byte[] keepField, byte[] callIdPrefix, long call) {
        int at = writeNumberField(out, 0, token);
        System.arraycopy(keepField, 0, out, at, keepField.length);
        return writeCallId(out, at + keepField.length, callIdPrefix, call);
    }

    /** The length of the field of a call id. */
    private static int callIdLength(byte[] prefix, long counter) {
        if (counter < 0) {
            throw new IllegalArgumentException("counter must not be negative, was " + counter);
        }
        return fieldLength(prefix.length + digits(counter));
    }

    /** Writes the field of a call id at {@code at}; returns where it ends. */
    private static int writeCallId(byte[] out, int at, byte[] prefix, long counter) {
        int start = writeHeader(out, at, prefix.length + digits(counter));
        System.arraycopy(prefix, 0, out, start, prefix.length);
        int end = start + prefix.length + digits(counter);
        writeDecimal(out, end, counter);
        return end;
    }

    /** The length of a field holding {@code length} bytes. */
    private static int fieldLength(int length) {
        return digits(length) + 1 + length;
    }

    /** The length of the field of a number in decimal. */
    private static int numberFieldLength(long value) {
        return fieldLength(value < 0 ? Long.toString(value).length() : digits(value));
    }

    /** Writes the field of a number in decimal at {@code at}; returns where it ends. */
    private static int writeNumberField(byte[] out, int at, long value) {
        if (value < 0) {
            byte[] text = Long.toString(value).getBytes(StandardCharsets.US_ASCII);
            int start = writeHeader(out, at, text.length);
            System.arraycopy(text, 0, out, start, text.length);
            return start + text.length;
        }
        int end = writeHeader(out, at, digits(value)) + digits(value);
        writeDecimal(out, end, value);
        return end;
    }

    /** Whether {@code value} is its own stored form and ASCII: characters U+0001 to U+007F, not starting with U+0001. */
    private static boolean isPlainAscii(String value) {
        if (!value.isEmpty() && value.charAt(0) == StoredText.ESCAPE) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0 || c > 0x7F) {
                return false;
            }
        }
        return true;
    }

    /** The number of decimal digits of {@code value}, not negative. */
    private static int digits(long value) {
        int digits = 1;
        for (long rest = value / 10; rest > 0; rest /= 10) {
            digits++;
        }
        return digits;
    }

    /** Writes {@code length} in decimal and a colon at {@code at}; returns where the field's bytes start. */
    private static int writeHeader(byte[] out, int at, int length) {
        int end = at + digits(length);
        writeDecimal(out, end, length);
        out[end] = ':';
        return end + 1;
    }

    /** Writes {@code value}, not negative, in decimal so that its last digit is at {@code end - 1}. */
    private static void writeDecimal(byte[] out, int end, long value) {
        long rest = value;
        int at = end;
        do {
            out[--at] = (byte) ('0' + rest % 10);
            rest /= 10;
        } while (rest > 0);
    }

    private static long number(byte @Nullable [] field) {
        if (field == null) {
            throw new Malformed("a number is missing");
        }
        try {
            return Long.parseLong(new String(field, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            throw new Malformed("a number field holds no number"); // without the field's content
        }
    }

    /** A value that is not in the record format; the message names the rule, never the value's content. */
    private static final class Malformed extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    private static @Nullable String text(byte @Nullable [] field) {
        try {
            return field == null ? null : StoredText.decode(new String(field, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new Malformed("a text field is not in the stored form (" + e.getMessage() + ")");
        }
    }
}
