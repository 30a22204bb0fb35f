package org.idempotency.testkit;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock that moves only when told to, for stores that take an injectable clock: tests of lease expiry and
 * retention then run instantly and deterministically.
 *
 * <p>Thread-safe.
 */
public final class ManualClock implements InstantSource {

    private final AtomicReference<Instant> now;

    private ManualClock(Instant start) {
        this.now = new AtomicReference<>(Objects.requireNonNull(start, "start"));
    }

    /**
     * A clock standing at {@code start}.
     *
     * @param start the instant the clock shows until it is moved
     * @return the clock
     */
    public static ManualClock at(Instant start) {
        return new ManualClock(start);
    }

    /**
     * A clock standing at the current system time.
     *
     * @return the clock
     */
    public static ManualClock startingNow() {
        return new ManualClock(Instant.now());
    }

    /**
     * Moves the clock forward.
     *
     * @param duration how far; not negative
     * @throws IllegalArgumentException if {@code duration} is negative
     */
    public void advance(Duration duration) {
        if (duration.isNegative()) {
            throw new IllegalArgumentException("a manual clock only moves forward, got " + duration);
        }
        now.updateAndGet(instant -> instant.plus(duration));
    }

    @Override
    public Instant instant() {
        return now.get();
    }
}
