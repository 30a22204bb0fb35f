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

    /** A field holding {@code value}: its length in decimal, a colon, the bytes. */
    public static byte[] field(byte[] value) {
        byte[] length = Long.toString(value.length).getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[length.length + 1 + value.length];
        System.arraycopy(length, 0, out, 0, length.length);
        out[length.length] = ':';
        System.arraycopy(value, 0, out, length.length + 1, value.length);
        return out;
    }

    /** A field holding a number in decimal. */
    public static byte[] field(long value) {
        return field(Long.toString(value).getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * A field holding text: its {@linkplain StoredText stored form} in UTF-8, which keeps every string (U+0000 and
     * unpaired surrogates included) and tells different strings apart; {@link #ABSENT} for {@code null}.
     */
    public static byte[] field(@Nullable String value) {
        return value == null ? ABSENT : field(StoredText.encode(value).getBytes(StandardCharsets.UTF_8));
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
