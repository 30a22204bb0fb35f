package org.idempotency.kafka.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How far ahead the loop claims: bounded, and shrinking for slow records so claims are reached in time. */
class ClaimWindowTest {

    @Test
    @DisplayName("the first window is small; later ones hold what can be gone through in a quarter of the lease")
    void sizedByMeasure() {
        ClaimWindow window = new ClaimWindow(500, Duration.ofSeconds(1));
        assertThat(window.next(2_000)).isEqualTo(ClaimWindow.FIRST);

        window.measured(32, TimeUnit.MILLISECONDS.toNanos(32)); // 1 ms a record: 250 fit in 250 ms
        assertThat(window.next(2_000)).isEqualTo(250);

        window.measured(10, TimeUnit.MILLISECONDS.toNanos(10_000)); // a slow batch pulls it down at once
        assertThat(window.next(2_000)).isEqualTo(1);
    }

    @Test
    @DisplayName("never more than the maximum nor the records there are, never fewer than one")
    void bounded() {
        ClaimWindow window = new ClaimWindow(100, Duration.ofSeconds(30));
        window.measured(1_000, TimeUnit.MICROSECONDS.toNanos(1_000));
        assertThat(window.next(2_000)).isEqualTo(100);
        assertThat(window.next(7)).isEqualTo(7);
        assertThat(new ClaimWindow(3, Duration.ofSeconds(1)).next(10)).isEqualTo(3);
        assertThatThrownBy(() -> new ClaimWindow(0, Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
    }
}
