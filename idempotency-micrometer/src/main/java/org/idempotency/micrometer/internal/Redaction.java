package org.idempotency.micrometer.internal;

import java.time.Duration;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyLeaseLostException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.micrometer.DefaultIdempotencyStoreCallConvention;
import org.jspecify.annotations.Nullable;

/**
 * Keeps keys out of what observations record. This library's exceptions name the key in their message, and a
 * store driver's exception may quote the command with its key; tracing handlers record an observation's error
 * with its message. So an observation is only ever given a copy of such an exception: the same class where it
 * can be made without a key (the {@code error} tag and the span's exception type stay right), the original's
 * stack frames, and a message that names neither the key nor the cause's message. What the work itself throws
 * is the application's own and is recorded as it is.
 */
final class Redaction {

    /** The {@code error} tag of a store call that threw: what {@link #storeFault} makes. */
    static final String STORE_FAULT = IdempotencyStoreException.class.getSimpleName();

    /** Stands in for the key in the messages of copies whose constructor requires one. */
    private static final String HIDDEN = "<hidden>";

    private Redaction() {
    }

    /**
     * The error an execution's observation records for its outcome, or {@code null} if the outcome is not a
     * failure of the call (a reused key, a conflict, a replayed failure, a lost lease and an unkept result are
     * outcomes: the {@code outcome} tag says them).
     */
    static @Nullable Throwable forOutcome(IdempotencyEvent.Type outcome, @Nullable Throwable error) {
        if (error == null) {
            return null;
        }
        return switch (outcome) {
            case STORE_ERROR, RELEASED, FAILURE_RECORDED, UNPROTECTED, REPLAYED -> redact(error);
            default -> null;
        };
    }

    /** A copy without key of this library's exceptions; anything else as it is. */
    static Throwable redact(Throwable error) {
        if (!(error instanceof IdempotencyException idempotency)) {
            return error;
        }
        Throwable copy;
        if (idempotency instanceof IdempotencyStoreException) {
            copy = new IdempotencyStoreException("The idempotency store failed" + causeType(error), null, null);
        } else if (idempotency instanceof IdempotencyCodecException) {
            copy = new IdempotencyCodecException("A result could not be encoded or decoded" + causeType(error), null,
                    null);
        } else if (idempotency instanceof IdempotencyKeyReusedException reused) {
            copy = new IdempotencyKeyReusedException(HIDDEN, reused.existingStatus());
        } else if (idempotency instanceof IdempotencyInProgressException inProgress) {
            copy = new IdempotencyInProgressException(HIDDEN, inProgress.retryAfter(), Duration.ZERO);
        } else if (idempotency instanceof IdempotencyReplayedFailureException replayed) {
            copy = new IdempotencyReplayedFailureException(HIDDEN, new StoredFailure(replayed.errorType(), null));
        } else if (idempotency instanceof IdempotencyResultNotKeptException) {
            copy = new IdempotencyResultNotKeptException(HIDDEN);
        } else if (idempotency instanceof IdempotencyLeaseLostException lost) {
            copy = new IdempotencyLeaseLostException(HIDDEN, lost.fencingToken());
        } else if (idempotency instanceof IdempotencyConfigurationException) {
            copy = new IdempotencyConfigurationException("The idempotency configuration is invalid");
        } else {
            copy = new IdempotencyStoreException("An idempotency failure (" + error.getClass().getName()
                    + "); its message is not recorded because it names a key", null, null);
        }
        copy.setStackTrace(error.getStackTrace());
        return copy;
    }

    /** The error a store call's observation records: always a store fault, never the driver's message. */
    static IdempotencyStoreException storeFault(StoreCall call, Throwable error) {
        Throwable cause = error instanceof IdempotencyStoreException && error.getCause() != null
                ? error.getCause() : error;
        IdempotencyStoreException copy = new IdempotencyStoreException("The idempotency store failed to "
                + DefaultIdempotencyStoreCallConvention.call(call) + " (" + cause.getClass().getName() + ")", null,
                null);
        copy.setStackTrace(error.getStackTrace());
        return copy;
    }

    /** The {@code error} tag's value for a recorded error, as Micrometer's meter handler names it. */
    static String tag(@Nullable Throwable recorded) {
        return recorded == null ? "none" : recorded.getClass().getSimpleName();
    }

    private static String causeType(Throwable error) {
        Throwable cause = error.getCause();
        return cause == null ? "" : " (" + cause.getClass().getName() + ")";
    }
}
