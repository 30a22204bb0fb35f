package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.BasicPolymorphicTypeValidator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class JacksonResultCodecTest {

    record Item(String sku, int quantity) {
    }

    @Test
    @DisplayName("round-trips generic types with their element types")
    void generics() {
        ResultCodec.Typed<Map<String, List<Item>>> codec =
                JacksonResultCodec.create().forType(new TypeRef<Map<String, List<Item>>>() { });
        Map<String, List<Item>> value = Map.of("cart", List.of(new Item("a", 2)));

        Map<String, List<Item>> decoded = codec.decode(codec.encode(value));

        assertThat(decoded).isEqualTo(value);
        assertThat(decoded.get("cart").get(0)).isInstanceOf(Item.class);
    }

    @Test
    @DisplayName("null encodes and decodes")
    void nulls() {
        ResultCodec.Typed<Item> codec = JacksonResultCodec.create().forType(TypeRef.of(Item.class));

        assertThat(codec.decode(codec.encode(null))).isNull();
    }

    @Test
    @DisplayName("unknown stored properties are ignored; undecodable bytes are a codec error")
    void decodeRules() {
        ResultCodec.Typed<Item> codec = JacksonResultCodec.create().forType(TypeRef.of(Item.class));

        assertThat(codec.decode("{\"sku\":\"a\",\"quantity\":1,\"added\":true}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(new Item("a", 1));
        assertThatThrownBy(() -> codec.decode("not json".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IdempotencyCodecException.class).hasMessageContaining("Item");
    }

    @Test
    @DisplayName("a mapper with polymorphic default typing is refused")
    void defaultTypingRefused() {
        ObjectMapper unsafe = JsonMapper.builder()
                .activateDefaultTyping(BasicPolymorphicTypeValidator.builder().allowIfBaseType(Object.class).build())
                .build();

        assertThatThrownBy(() -> JacksonResultCodec.using(unsafe))
                .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("default typing");
        assertThat(JacksonResultCodec.using(new ObjectMapper())).isNotNull();
    }
}
