package org.idempotency.kafka.internal;

import java.time.Duration;

/**
 * How many records the loop claims ahead of processing them: enough that a batch claim saves round trips, few
 * enough that every claim is reached within a quarter of the lease. Otherwise a large poll's claims wait long
 * enough to need renewal (a store call per claim, or per batch) and, if renewal falls behind, to run out
 * before their record is reached. Learns from how long records took: the window shrinks for slow records and
 * grows back for fast ones, between one record and {@code maxRecords}.
 *
 * <p>Confined to the loop's thread.
 */
public final class ClaimWindow {

    /** The first window, before anything was measured. */
    static final int FIRST = 32;

    private final int maxRecords;
    private final long targetNanos;
    /** The smoothed time one record took, or 0 before the first measure. */
    private double nanosPerRecord;

    /**
     * @param maxRecords the largest window, at least 1
     * @param lease the engine's lease: a window is sized to be gone through in a quarter of it
     */
    public ClaimWindow(int maxRecords, Duration lease) {
        if (maxRecords < 1) {
            throw new IllegalArgumentException("maxRecords must be at least 1, was " + maxRecords);
        }
        this.maxRecords = maxRecords;
        this.targetNanos = Math.max(1, lease.toNanos() / 4);
    }

    /** How many of the next {@code available} records to claim now. */
    public int next(int available) {
        int size;
        if (nanosPerRecord <= 0) {
            size = Math.min(FIRST, maxRecords);
        } else {
            size = (int) Math.max(1, Math.min(maxRecords, targetNanos / nanosPerRecord));
        }
        return Math.min(size, available);
    }

    /** {@code records} records of a window were gone through in {@code nanos}. */
    public void measured(int records, long nanos) {
        if (records <= 0) {
            return;
        }
        double perRecord = Math.max(1, nanos) / (double) records;
        nanosPerRecord = nanosPerRecord <= 0 ? perRecord : 0.5 * nanosPerRecord + 0.5 * perRecord;
    }
}
