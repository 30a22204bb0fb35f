package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@link Idempotency#execute}: the design card's call, without an operation. */
class DefaultOperationTest {

    record Order(String id, BigDecimal total, Instant placed) {
    }

    record Unlisted(String id) {
    }

    private final InMemoryIdempotencyStore store = InMemoryIdempotencyStore.create();
    private final List<IdempotencyEvent> events = new CopyOnWriteArrayList<>();
    private final Idempotency idempotency = Idempotency.builder(store).resultTypes(Order.class)
            .listener(events::add).build();

    @AfterEach
    void close() {
        idempotency.close();
    }

    @Test
    @DisplayName("runs the work once and replays a result of the listed class, equal to the first")
    void listedClass() {
        AtomicInteger runs = new AtomicInteger();
        Order first = idempotency.execute("k", "h", () -> new Order("o-" + runs.incrementAndGet(),
                new BigDecimal("19.99"), Instant.parse("2026-11-30T10:00:00Z")));

        Order again = idempotency.execute("k", "h", () -> new Order("o-" + runs.incrementAndGet(),
                BigDecimal.ONE, Instant.EPOCH));

        assertThat(again).isEqualTo(first);
        assertThat(runs).hasValue(1);
        assertThat(store.find(Idempotency.DEFAULT_OPERATION + ":k")).isPresent();
        assertThatThrownBy(() -> idempotency.execute("k", "other", () -> first))
                .isInstanceOf(IdempotencyKeyReusedException.class);
    }

    @Test
    @DisplayName("replays JDK value types and null without being told")
    void builtInTypes() {
        assertThat(idempotency.<String>execute("s", null, () -> "text")).isEqualTo("text");
        assertThat(idempotency.<String>execute("s", null, () -> "other")).isEqualTo("text");
        assertThat(idempotency.<Long>execute("l", null, () -> 42L)).isEqualTo(42L);
        assertThat(idempotency.<Long>execute("l", null, () -> 7L)).isEqualTo(42L);
        assertThat(idempotency.<Instant>execute("i", null, () -> Instant.EPOCH)).isEqualTo(Instant.EPOCH);
        assertThat(idempotency.<Instant>execute("i", null, Instant::now)).isEqualTo(Instant.EPOCH);
        assertThat(idempotency.<Object>execute("n", null, () -> null)).isNull();
        assertThat(idempotency.<Object>execute("n", null, () -> "ran again")).isNull();
    }

    @Test
    @DisplayName("a result of a class that is not listed is returned, not kept, and reported with the fix")
    void unlistedClassNotKept() {
        Unlisted result = idempotency.execute("u", "h", () -> new Unlisted("x"));

        assertThat(result).isEqualTo(new Unlisted("x"));
        assertThat(events).filteredOn(e -> e.type() == IdempotencyEvent.Type.RESULT_NOT_KEPT).singleElement()
                .satisfies(e -> assertThat(e.error()).hasMessageContaining("resultTypes(Unlisted.class)"));
        assertThatThrownBy(() -> idempotency.execute("u", "h", () -> new Unlisted("y")))
                .isInstanceOf(IdempotencyResultNotKeptException.class);
    }

    @Test
    @DisplayName("stored bytes naming a class that is not listed are refused, never instantiated")
    void storedClassNotListed() {
        String storedKey = Idempotency.DEFAULT_OPERATION + ":forged";
        long token = ((AcquireResult.Acquired) store.acquire(storedKey, "h", idempotency.lease())).fencingToken();
        byte[] forged = "java.io.File\n\"/etc/passwd\"".getBytes(StandardCharsets.UTF_8);
        store.complete(storedKey, token, StoredResult.of(forged), idempotency.retention());

        assertThatThrownBy(() -> idempotency.execute("forged", "h", () -> "never"))
                .isInstanceOf(IdempotencyCodecException.class)
                .hasMessageContaining("java.io.File").hasMessageContaining("not instantiated");
    }
}
