package org.idempotency.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.spring.jackson.Jackson3ResultCodec;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.DefaultTyping;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.jsontype.BasicPolymorphicTypeValidator;

/** How the Jackson 3 codec (Spring Boot 4's mapper) and the core's Jackson 2 codec meet. */
class Jackson3ResultCodecTest {

    /** A result with the values applications keep. */
    public record Receipt(String id, long cents, Instant at, OffsetDateTime local, LocalDate day, Duration took,
            Optional<String> note, List<String> items) {
    }

    /** A type no codec can read back. */
    public abstract static class Shape {
    }

    private static final Receipt RECEIPT = new Receipt("r-1", 1999, Instant.parse("2026-11-30T10:15:30.123456Z"),
            OffsetDateTime.parse("2026-11-30T11:15:30+01:00"), LocalDate.of(2026, 11, 30), Duration.ofMillis(1500),
            Optional.of("gift"), List.of("book", "pen"));

    private final ResultCodec.Typed<Receipt> jackson3 =
            Jackson3ResultCodec.using(JsonMapper.builder().build()).forType(TypeRef.of(Receipt.class));
    private final ResultCodec.Typed<Receipt> jackson2 = JacksonResultCodec.create().forType(TypeRef.of(Receipt.class));

    @Test
    @DisplayName("a result round-trips through the Jackson 3 codec, java.time and Optional values equal")
    void roundTrip() {
        assertThat(jackson3.decode(jackson3.encode(RECEIPT))).isEqualTo(RECEIPT);
    }

    @Test
    @DisplayName("a result stored by the Jackson 2 codec (Boot 3) is replayed by the Jackson 3 codec (Boot 4), and back")
    void interoperable() {
        assertThat(jackson3.decode(jackson2.encode(RECEIPT))).isEqualTo(RECEIPT);
        assertThat(jackson2.decode(jackson3.encode(RECEIPT))).isEqualTo(RECEIPT);
    }

    @Test
    @DisplayName("unknown properties are ignored on replay, so a field removed from the type breaks nothing")
    void unknownPropertiesIgnored() {
        byte[] stored = "{\"id\":\"r-2\",\"cents\":5,\"items\":[],\"removed\":true}".getBytes();
        assertThat(jackson3.decode(stored).id()).isEqualTo("r-2");
    }

    @Test
    @DisplayName("a mapper with default typing is refused; a type the codec cannot read back is refused up front")
    void refusals() {
        JsonMapper typed = JsonMapper.builder().activateDefaultTyping(BasicPolymorphicTypeValidator.builder()
                .allowIfBaseType(Object.class).build(), DefaultTyping.NON_FINAL).build();
        assertThatThrownBy(() -> Jackson3ResultCodec.using(typed))
                .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("default typing");
        assertThatThrownBy(() -> Jackson3ResultCodec.using(JsonMapper.builder().build()).forType(TypeRef.of(Shape.class)))
                .isInstanceOf(IdempotencyConfigurationException.class).hasMessageContaining("abstract");
    }
}
