package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IdempotencyBuilderTest {

    private final Idempotency.Builder builder = Idempotency.builder(InMemoryIdempotencyStore.create());

    @Test
    @DisplayName("non-positive durations are refused, naming the setting and the value")
    void nonPositive() {
        assertThatThrownBy(() -> builder.lease(Duration.ZERO)).hasMessage("lease must be positive, was PT0S");
        assertThatThrownBy(() -> builder.lease(Duration.ofSeconds(-1))).hasMessageContaining("lease must be positive");
        assertThatThrownBy(() -> builder.retention(Duration.ZERO)).hasMessageContaining("retention must be positive");
        assertThatThrownBy(() -> builder.renewInterval(Duration.ZERO)).hasMessageContaining("renewInterval");
        assertThatThrownBy(() -> builder.waitForInProgress(Duration.ofMillis(-1))).hasMessageContaining("zero or positive");
        assertThatThrownBy(() -> builder.maxResultBytes(0)).hasMessageContaining("maxResultBytes must be positive");
        assertThatThrownBy(() -> builder.purgeInterval(Duration.ofSeconds(-1))).hasMessageContaining("purgeInterval");
        assertThatThrownBy(() -> builder.lease(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    @DisplayName("a lease longer than the retention is refused at build")
    void leaseLongerThanRetention() {
        assertThatThrownBy(() -> builder.lease(Duration.ofHours(2)).retention(Duration.ofHours(1)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lease (PT2H) must not be longer than the retention (PT1H)");
    }

    @Test
    @DisplayName("a renewal interval not shorter than the lease is refused at build")
    void renewalTooSlow() {
        assertThatThrownBy(() -> builder.lease(Duration.ofSeconds(1)).renewInterval(Duration.ofSeconds(1)).build())
                .hasMessageContaining("must be shorter than the lease");
    }

    @Test
    @DisplayName("a renewal timeout not shorter than the lease, or a maximum execution time not longer, is refused")
    void renewalTimeoutAndMaxExecutionTime() {
        assertThatThrownBy(() -> builder.renewalTimeout(Duration.ZERO)).hasMessageContaining("renewalTimeout");
        assertThatThrownBy(() -> builder.maxExecutionTime(Duration.ZERO)).hasMessageContaining("maxExecutionTime");
        assertThatThrownBy(() -> Idempotency.builder(InMemoryIdempotencyStore.create()).lease(Duration.ofSeconds(1))
                .renewalTimeout(Duration.ofSeconds(1)).build())
                .hasMessage("the renewalTimeout (PT1S) must be shorter than the lease (PT1S)");
        assertThatThrownBy(() -> Idempotency.builder(InMemoryIdempotencyStore.create()).lease(Duration.ofMinutes(1))
                .maxExecutionTime(Duration.ofSeconds(30)).build())
                .hasMessage("the maxExecutionTime (PT30S) must be longer than the lease (PT1M)");
    }

    @Test
    @DisplayName("result types must be concrete classes the codec can handle")
    void resultTypes() {
        assertThatThrownBy(() -> builder.resultTypes(Runnable.class))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concrete classes");
        assertThatThrownBy(() -> builder.resultTypes(int.class)).hasMessageContaining("java.lang.Integer")
                .hasMessageContaining("int");
        assertThatThrownBy(() -> Idempotency.builder(InMemoryIdempotencyStore.create())
                .resultTypes(NoCreator.class).build())
                .isInstanceOf(org.idempotency.api.IdempotencyConfigurationException.class)
                .hasMessageContaining("NoCreator");
    }

    /** Jackson cannot construct it: no usable constructor. */
    static final class NoCreator {
        final String value;

        NoCreator(String value, int copies) {
            this.value = value.repeat(copies);
        }

        public String getValue() {
            return value;
        }
    }

    @Test
    @DisplayName("operation names are validated when the handle is created")
    void operationName() {
        try (Idempotency idempotency = builder.build()) {
            assertThatThrownBy(() -> idempotency.operation("bad name", String.class))
                    .isInstanceOf(InvalidIdempotencyKeyException.class);
            assertThat(idempotency.operation("ok", String.class).name()).isEqualTo("ok");
            assertThat(idempotency.lease()).isEqualTo(Duration.ofSeconds(30));
            assertThat(idempotency.retention()).isEqualTo(Duration.ofHours(24));
        }
    }
}
