package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.BasicPolymorphicTypeValidator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.Year;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
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

    @Test
    @DisplayName("works on a copy of the application's mapper: default typing enabled later changes nothing")
    void usingCopiesTheMapper() {
        ObjectMapper application = new ObjectMapper();
        ResultCodec codec = JacksonResultCodec.using(application);
        application.activateDefaultTyping(BasicPolymorphicTypeValidator.builder().allowIfBaseType(Object.class)
                .build(), ObjectMapper.DefaultTyping.NON_FINAL);

        ResultCodec.Typed<Object> typed = codec.forType(TypeRef.of(Object.class));
        byte[] forged = "[\"java.util.ArrayList\",[\"x\"]]".getBytes(StandardCharsets.UTF_8);

        assertThat(new String(typed.encode(List.of("x")), StandardCharsets.UTF_8)).isEqualTo("[\"x\"]");
        assertThat(typed.decode(forged)).as("a plain JSON array, no class named by the bytes")
                .isEqualTo(List.of("java.util.ArrayList", List.of("x")));
    }

    record Stamped(Instant at, OffsetDateTime offset, ZonedDateTime zoned, LocalDate day, LocalTime time,
            Duration took, Optional<String> note, OptionalInt count, Year year) {
    }

    @Test
    @DisplayName("the default codec keeps java.time and Optional values, replayed equal, as ISO-8601 text")
    void jdkTypes() {
        ResultCodec.Typed<Stamped> codec = JacksonResultCodec.create().forType(TypeRef.of(Stamped.class));
        Stamped value = new Stamped(Instant.parse("2026-11-30T10:15:30.123456789Z"),
                OffsetDateTime.parse("2026-11-30T11:15:30+01:00"),
                ZonedDateTime.parse("2026-10-25T02:30+01:00[Europe/Paris]"), LocalDate.of(2026, 2, 28),
                LocalTime.NOON, Duration.ofMillis(1500), Optional.of("n"), OptionalInt.empty(), Year.of(2026));

        byte[] encoded = codec.encode(value);

        assertThat(codec.decode(encoded)).isEqualTo(value);
        assertThat(new String(encoded, StandardCharsets.UTF_8)).contains("\"2026-11-30T10:15:30.123456789Z\"")
                .contains("Europe/Paris").contains("\"PT1.5S\"");
    }

    /** No constructor Jackson can use. */
    static final class NoCreator {
        private final String value;

        NoCreator(String value, int copies) {
            this.value = value.repeat(copies);
        }

        public String getValue() {
            return value;
        }
    }

    interface Shape {
        double area();
    }

    record Holder(String name, NoCreator inner) {
    }

    @Test
    @DisplayName("a type the codec cannot handle is refused when its codec is prepared, naming it and the fix")
    void unhandledTypesRefused() {
        JacksonResultCodec codec = JacksonResultCodec.create();

        assertThatThrownBy(() -> codec.forType(TypeRef.of(NoCreator.class)))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessageContaining(NoCreator.class.getName()).hasMessageContaining("@JsonCreator");
        assertThatThrownBy(() -> codec.forType(TypeRef.of(Shape.class)))
                .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("abstract");
        assertThatThrownBy(() -> codec.forType(TypeRef.of(Holder.class)))
                .as("reached through a property").hasMessageContaining("reached from the declared type");
        assertThatThrownBy(() -> codec.forType(new TypeRef<List<NoCreator>>() { }))
                .as("reached through a collection").hasMessageContaining("NoCreator");
        assertThatThrownBy(() -> JacksonResultCodec.using(new ObjectMapper()).forType(TypeRef.of(Instant.class)))
                .as("a mapper without the java.time module").hasMessageContaining("no support");
    }
}
