package org.idempotency.kafka;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.IdempotentOperation;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original design's {@code isDuplicate}/{@code markProcessed} style, for hand-written consumer loops, made
 * safe: {@link #isDuplicate} <em>claims</em> the message atomically (one store round trip, not check-then-act),
 * so of all the callers asking about one message, in this process or another, exactly one is told to process it.
 *
 * <pre>{@code
 * for (ConsumerRecord<String, String> record : consumer.poll(timeout)) {
 *     String id = messageId(record);
 *     if (dedup.isDuplicate(id, RequestHashes.sha256(record.value()))) {
 *         continue;                  // processed before
 *     }
 *     try {
 *         process(record);
 *         dedup.markProcessed(id);   // completes the claim
 *     } catch (Exception e) {
 *         dedup.release(id);         // a redelivery processes it again
 *         throw e;
 *     }
 * }
 * consumer.commitSync();
 * }</pre>
 *
 * <p>A claim belongs to the one call that got {@code false}: asking again about a message while its claim is
 * held, from any thread, even of this deduplicator, throws {@link IdempotencyInProgressException} (after the
 * payload hash is checked, so a different payload is {@link IdempotencyKeyReusedException}), exactly as for a
 * message claimed by another consumer: do not commit past it, retry it later.
 *
 * <p>A claim must end with {@link #markProcessed} or {@link #release}. One that does not (a forgotten call, a
 * stuck thread) is released after {@code maxClaim} (default 5 minutes), with a WARN line, so the message is not
 * blocked for as long as this process lives; {@code markProcessed} and {@code release} then return
 * {@code false} (for another {@code maxClaim}, after which the claim is forgotten). If the process dies, the
 * claim's lease expires instead and another consumer takes the message over. While a claim is held, its lease is
 * renewed.
 *
 * <p>Thread-safe.
 */
public final class MessageDeduplicator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MessageDeduplicator.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final IdempotentOperation<Void> operation;
    private final Duration maxClaim;
    /** The claims held, and those released after maxClaim that are remembered for another maxClaim. */
    private final ConcurrentHashMap<String, Claim> claims = new ConcurrentHashMap<>();
    private final ScheduledThreadPoolExecutor timer;

    private MessageDeduplicator(Builder builder) {
        this.operation = builder.idempotency.operation(builder.operationName);
        this.maxClaim = builder.maxClaim;
        this.timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "idempotency-dedup-claims-" + THREADS.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true);
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * Starts configuring a deduplicator.
     *
     * @param idempotency the engine (its store, lease and retention apply)
     * @param operationName namespaces the message ids: 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}; use one
     *     per consumer group or purpose
     * @return a builder
     */
    public static Builder builder(Idempotency idempotency, String operationName) {
        return new Builder(idempotency, operationName);
    }

    /**
     * Like {@link #isDuplicate(String, String)} without a payload hash (key reuse is not detected).
     *
     * @param messageId the message id
     * @return {@code true} if it was processed before; {@code false} if it is yours to process
     */
    public boolean isDuplicate(String messageId) {
        return isDuplicate(messageId, null);
    }

    /**
     * Whether the message was already processed. If not, the caller now holds the message's claim: process the
     * message, then call {@link #markProcessed} (or {@link #release} if processing failed).
     *
     * @param messageId the message id (key rules: not blank, at most 255 UTF-8 bytes, no control characters)
     * @param payloadHash a hash of the payload (such as {@code RequestHashes.sha256(bytes)}), or {@code null}
     * @return {@code true} if it was processed before (skip it); {@code false} if it is yours to process
     * @throws IdempotencyInProgressException if its claim is held, by another consumer or by an earlier call to
     *     this deduplicator: retry later, do not skip it
     * @throws IdempotencyKeyReusedException if the id was used by a message with a different payload hash
     * @throws IdempotencyReplayedFailureException if a permanent failure was recorded for it
     * @throws IdempotencyStoreException if the store fails (the message is not claimed)
     * @throws org.idempotency.api.InvalidIdempotencyKeyException if the id breaks the key rules
     * @throws IllegalStateException if this deduplicator is closed (nothing is claimed)
     */
    public boolean isDuplicate(String messageId, @Nullable String payloadHash) {
        Objects.requireNonNull(messageId, "messageId must not be null");
        if (timer.isShutdown()) {
            throw closed(messageId);
        }
        Claim held = claims.get(messageId);
        if (held != null && !held.isReleased()) {
            throw heldHere(held, payloadHash);
        }
        Execution<Void> execution;
        try {
            execution = operation.begin(messageId, payloadHash);
        } catch (IdempotencyResultNotKeptException | IdempotencyCodecException e) {
            return true; // completed; only its (unused) result cannot be replayed
        }
        if (execution.isReplay()) {
            return true;
        }
        Claim claim = new Claim(execution, payloadHash);
        boolean kept = false;
        try {
            Claim current = claims.merge(messageId, claim, (old, mine) -> old.isReleased() ? mine : old);
            if (current != claim) { // a live claim of this deduplicator: ours cannot be a second one
                execution.release();
                throw heldHere(current, payloadHash);
            }
            try {
                claim.timer = timer.schedule(() -> expire(messageId, claim), maxClaim.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) { // closed meanwhile: a claim nothing would bound or end
                throw closed(messageId);
            }
            kept = true;
            return false;
        } finally {
            if (!kept && claim.end()) { // something above threw before the claim was kept: release it
                claims.remove(messageId, claim);
                execution.close();
            }
        }
    }

    /**
     * Completes the claim taken by {@link #isDuplicate}: later deliveries of the message are duplicates.
     *
     * @param messageId the message id
     * @return {@code true} if recorded; {@code false} if the claim was lost meanwhile (released after
     *     {@code maxClaim} and possibly taken by another consumer, or its lease lost) or the store failed to record
     *     it (reported as a WARN line; the message may then be processed again after the lease)
     * @throws IllegalStateException if this deduplicator holds no claim for the message (never claimed, already
     *     ended, or released after {@code maxClaim} longer than {@code maxClaim} ago)
     */
    public boolean markProcessed(String messageId) {
        Claim claim = take(messageId, "markProcessed");
        if (!claim.end()) {
            return false; // released after maxClaim
        }
        try {
            return claim.execution.complete(null);
        } finally {
            claim.execution.close();
        }
    }

    /**
     * Gives the claim up after processing failed: the next delivery of the message processes it again.
     *
     * @param messageId the message id
     * @return {@code true} if released; {@code false} if this deduplicator held no claim for the message (or it
     *     was released after {@code maxClaim}, or its lease lost)
     */
    public boolean release(String messageId) {
        Claim claim = claims.remove(Objects.requireNonNull(messageId, "messageId must not be null"));
        if (claim == null) {
            return false;
        }
        claim.cancelTimer();
        return claim.end() && claim.execution.release();
    }

    /**
     * How many claims this deduplicator holds, for monitoring.
     *
     * @return the claims held (not those released after {@code maxClaim})
     */
    public int claimsHeld() {
        int held = 0;
        for (Claim claim : claims.values()) {
            if (!claim.isReleased()) {
                held++;
            }
        }
        return held;
    }

    /** Releases every claim still held and stops the timer that bounds claims. */
    @Override
    public void close() {
        timer.shutdownNow();
        for (String messageId : claims.keySet()) {
            Claim claim = claims.remove(messageId);
            if (claim != null && claim.end()) {
                try {
                    claim.execution.close();
                } catch (RuntimeException e) {
                    LOG.warn("Releasing the claim of message '{}' failed; its lease runs out instead", messageId, e);
                }
            }
        }
    }

    private static IllegalStateException closed(String messageId) {
        return new IllegalStateException("Cannot claim message '" + messageId + "': this deduplicator is closed");
    }

    private IdempotencyException heldHere(Claim held, @Nullable String payloadHash) {
        if (!IdempotencyRecord.hashesMatch(held.payloadHash, payloadHash)) {
            return new IdempotencyKeyReusedException(held.execution.storedKey(), RecordStatus.IN_PROGRESS);
        }
        return new IdempotencyInProgressException(held.execution.storedKey(), held.execution.leaseRemaining(),
                Duration.ZERO);
    }

    private Claim take(String messageId, String action) {
        Claim claim = claims.remove(Objects.requireNonNull(messageId, "messageId must not be null"));
        if (claim == null) {
            throw new IllegalStateException("Cannot " + action + " message '" + messageId + "': this deduplicator"
                    + " holds no claim for it (call isDuplicate first; a claim released after " + maxClaim
                    + " is forgotten after another " + maxClaim + ")");
        }
        claim.cancelTimer();
        return claim;
    }

    private void expire(String messageId, Claim claim) {
        if (!claim.end()) {
            return; // ended meanwhile
        }
        LOG.warn("Message '{}' was claimed {} ago and neither markProcessed nor release was called; releasing it so"
                + " that a redelivery processes it", messageId, maxClaim);
        try {
            claim.execution.release();
        } finally {
            try { // remembered, so that a late markProcessed or release answers false; then forgotten
                claim.timer = timer.schedule(() -> claims.remove(messageId, claim), maxClaim.toNanos(),
                        TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                claims.remove(messageId, claim);
            }
        }
    }

    /** A claim: held until one of markProcessed, release, close or the maxClaim timer ends it. */
    private static final class Claim {
        final Execution<Void> execution;
        final @Nullable String payloadHash;
        private final AtomicBoolean ended = new AtomicBoolean();
        volatile @Nullable Future<?> timer;

        Claim(Execution<Void> execution, @Nullable String payloadHash) {
            this.execution = execution;
            this.payloadHash = payloadHash;
        }

        /** Ends the claim; {@code true} for the one caller that ended it, who finishes the execution. */
        boolean end() {
            return ended.compareAndSet(false, true);
        }

        /** Whether it ended (by the maxClaim timer, while still in the map). */
        boolean isReleased() {
            return ended.get();
        }

        void cancelTimer() {
            Future<?> task = timer;
            if (task != null) {
                task.cancel(false);
            }
        }
    }

    /** Configures a {@link MessageDeduplicator}. Each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private final Idempotency idempotency;
        private final String operationName;
        private Duration maxClaim = Duration.ofMinutes(5);

        private Builder(Idempotency idempotency, String operationName) {
            this.idempotency = Objects.requireNonNull(idempotency, "idempotency must not be null");
            this.operationName = IdempotencyKeys.validateOperation(operationName);
        }

        /**
         * How long a claim may be held before it is released without {@code markProcessed} or {@code release}
         * (default 5 minutes). Make it longer than processing one message takes.
         *
         * @param maxClaim positive
         * @return this builder
         */
        public Builder maxClaim(Duration maxClaim) {
            Objects.requireNonNull(maxClaim, "maxClaim must not be null");
            if (maxClaim.isNegative() || maxClaim.isZero()) {
                throw new IllegalArgumentException("maxClaim must be positive, was " + maxClaim);
            }
            this.maxClaim = maxClaim;
            return this;
        }

        /**
         * Builds the deduplicator; close it to release its claims and stop its timer thread.
         *
         * @return the deduplicator
         */
        public MessageDeduplicator build() {
            return new MessageDeduplicator(this);
        }
    }
}
