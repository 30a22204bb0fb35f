package org.idempotency.redis.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.redisson.client.codec.BaseCodec;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.Decoder;
import org.redisson.client.protocol.Encoder;

/**
 * The codec of the store's script calls: {@link ByteArrayCodec} (arguments are byte arrays, bulk replies arrive
 * as byte arrays), except that an argument of up to {@value #MAX_COPIED} bytes is copied into a buffer from
 * Netty's pooled allocator, as Redisson's own string codec does, instead of being wrapped. Redisson releases the
 * buffer once the command is done. A wrapped array costs a wrapper, its reference count and, when the client
 * copies it into the connection's direct buffer, two NIO views on every call; a pooled direct buffer is copied
 * without them. Larger arguments (results of many kilobytes) are wrapped, as copying them twice would cost more.
 *
 * <p>Stateless and thread-safe.
 */
public final class ScriptCodec extends BaseCodec {

    /** The codec. */
    public static final ScriptCodec INSTANCE = new ScriptCodec();

    /** The longest argument copied into a pooled buffer; longer ones are wrapped. */
    static final int MAX_COPIED = 8192;

    private final Encoder encoder = value -> {
        byte[] bytes = (byte[]) value;
        if (bytes.length > MAX_COPIED) {
            return Unpooled.wrappedBuffer(bytes);
        }
        return ByteBufAllocator.DEFAULT.buffer(bytes.length).writeBytes(bytes);
    };

    private ScriptCodec() {
    }

    @Override
    public Decoder<Object> getValueDecoder() {
        return ByteArrayCodec.INSTANCE.getValueDecoder();
    }

    @Override
    public Encoder getValueEncoder() {
        return encoder;
    }
}
