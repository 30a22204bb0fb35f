package org.idempotency.redis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ScriptCodecTest {

    @Test
    @DisplayName("encodes an argument's bytes exactly, copied when small and wrapped when large")
    void encodesArguments() throws IOException {
        for (int length : new int[] {0, 1, 100, ScriptCodec.MAX_COPIED, ScriptCodec.MAX_COPIED + 1, 1 << 20}) {
            byte[] value = new byte[length];
            for (int i = 0; i < length; i++) {
                value[i] = (byte) (i * 31 + 7);
            }
            ByteBuf encoded = ScriptCodec.INSTANCE.getValueEncoder().encode(value);
            try {
                assertThat(ByteBufUtil.getBytes(encoded)).as("length %d", length).isEqualTo(value);
                boolean wrapped = encoded.hasArray() && encoded.array() == value;
                assertThat(wrapped).as("length %d wrapped", length).isEqualTo(length > ScriptCodec.MAX_COPIED);
            } finally {
                assertThat(encoded.release()).isTrue();
            }
        }
    }

    @Test
    @DisplayName("decodes a bulk reply as its bytes")
    void decodesReplies() throws IOException {
        byte[] value = {'C', 0, (byte) 0xff};
        assertThat(ScriptCodec.INSTANCE.getValueDecoder().decode(Unpooled.wrappedBuffer(value), null))
                .isEqualTo(value);
    }
}
