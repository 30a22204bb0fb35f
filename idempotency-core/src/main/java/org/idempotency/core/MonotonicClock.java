package org.idempotency.core;

import java.time.Instant;
import java.time.InstantSource;
import java.util.function.LongSupplier;

/**
 * An {@link InstantSource} that reads the wall clock once, when it is created, and from then on advances with a
 * monotonic counter ({@link System#nanoTime()}): a step of the wall clock (an NTP correction, a manual change)
 * does not move it. The in-memory store's default clock, so its leases last what they say. Thread-safe.
 */
final class MonotonicClock implements InstantSource {

    private final LongSupplier nanos;
    private final long originMillis;
    private final long originNanos;

    MonotonicClock() {
        this(System::currentTimeMillis, System::nanoTime);
    }

    MonotonicClock(LongSupplier wallMillis, LongSupplier nanos) {
        this.nanos = nanos;
        this.originMillis = wallMillis.getAsLong();
        this.originNanos = nanos.getAsLong();
    }

    @Override
    public long millis() {
        return originMillis + (nanos.getAsLong() - originNanos) / 1_000_000;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(originMillis).plusNanos(nanos.getAsLong() - originNanos);
    }
}
