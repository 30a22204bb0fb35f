package org.idempotency.kafka.internal;

import java.nio.channels.ClosedByInterruptException;
import org.apache.kafka.common.errors.InterruptException;

/**
 * Recognises interrupts, whatever form they reach the loop in, and runs store calls that must happen despite
 * one. Stateless.
 */
public final class Interrupts {

    /** How deep a cause chain is searched for the interrupt. */
    private static final int MAX_DEPTH = 16;

    private Interrupts() {
    }

    /**
     * Whether {@code error} means the current thread was interrupted: the thread's interrupt flag is set, or the
     * error (or one of its causes) is an {@link InterruptedException}, Kafka's {@link InterruptException} or a
     * {@link ClosedByInterruptException}.
     */
    public static boolean isInterrupt(Throwable error) {
        if (Thread.currentThread().isInterrupted()) {
            return true;
        }
        Throwable cause = error;
        for (int depth = 0; cause != null && depth < MAX_DEPTH; depth++) {
            if (cause instanceof InterruptedException || cause instanceof InterruptException
                    || cause instanceof ClosedByInterruptException) {
                return true;
            }
            cause = cause.getCause();
        }
        return false;
    }

    /**
     * Runs {@code call} with the interrupt flag cleared, so that a store client that refuses to work on an
     * interrupted thread still makes it, and sets the flag again afterwards if it was set.
     */
    public static void runUninterrupted(Runnable call) {
        boolean interrupted = Thread.interrupted();
        try {
            call.run();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
