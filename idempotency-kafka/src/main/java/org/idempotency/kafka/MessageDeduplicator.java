package org.idempotency.kafka;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
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
 * so of two consumers asking about one message, exactly one is told to process it.
 *
 * <pre>{@code
 * for (ConsumerRecord<String, String> record : consumer.poll(timeout)) {
 *     String id = messageId(record);
 *     if (dedup.isDuplicate(id)) {
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
 * <p>A claim must end with {@link #markProcessed} or {@link #release}. One that does not (a forgotten call, a
 * stuck thread) is released after {@code maxClaim} (default 5 minutes), with a WARN line, so the message is not
 * blocked for as long as this process lives; if the process dies, the claim's lease expires instead and another
 * consumer takes the message over. While a claim is held, its lease is renewed.
 *
 * <p>A message being processed elsewhere is neither a duplicate nor yours: {@link #isDuplicate} throws
 * {@link IdempotencyInProgressException}; do not commit past it, retry it later.
 *
 * <p>Thread-safe. Claims belong to this deduplicator: asking again about a message it holds answers
 * {@code false} (it is still yours to process), so use one deduplicator per consumer.
 */
public final class MessageDeduplicator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MessageDeduplicator.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final IdempotentOperation<Void> operation;
    private final Duration maxClaim;
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
     */
    public static Builder builder(Idempotency idempotency, String operationName) {
        return new Builder(idempotency, operationName);
    }

    /** Like {@link #isDuplicate(String, String)} without a payload hash (key reuse is not detected). */
    public boolean isDuplicate(String messageId) {
        return isDuplicate(messageId, null);
    }

    /**
     * Whether the message was already processed. If not, this deduplicator now holds the message's claim: process
     * the message, then call {@link #markProcessed} (or {@link #release} if processing failed).
     *
     * @param messageId the message id (key rules: not blank, at most 255 UTF-8 bytes, no control characters)
     * @param payloadHash a hash of the payload (such as {@code RequestHashes.sha256(bytes)}), or {@code null}
     * @return {@code true} if it was processed before (skip it); {@code false} if it is yours to process
     * @throws IdempotencyInProgressException if another consumer is processing it: retry later, do not skip it
     * @throws IdempotencyKeyReusedException if the id was used by a message with a different payload hash
     * @throws IdempotencyReplayedFailureException if a permanent failure was recorded for it
     * @throws IdempotencyStoreException if the store fails (the message is not claimed)
     * @throws org.idempotency.api.InvalidIdempotencyKeyException if the id breaks the key rules
     */
    public boolean isDuplicate(String messageId, @Nullable String payloadHash) {
        Objects.requireNonNull(messageId, "messageId must not be null");
        if (claims.containsKey(messageId)) {
            return false;
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
        Claim claim = new Claim(execution);
        if (claims.putIfAbsent(messageId, claim) != null) {
            execution.release(); // another thread of this deduplicator claimed it meanwhile: it is ours anyway
            return false;
        }
        try {
            claim.expiry = timer.schedule(() -> expire(messageId, claim), maxClaim.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            LOG.warn("Deduplicator is closed; the claim of message '{}' is not bounded by maxClaim", messageId);
        }
        return false;
    }

    /**
     * Completes the claim taken by {@link #isDuplicate}: later deliveries of the message are duplicates.
     *
     * @return {@code true} if recorded; {@code false} if the claim was lost meanwhile (released after
     *     {@code maxClaim} and possibly taken by another consumer) or the store failed to record it (reported
     *     as a WARN line; the message may then be processed again after the lease)
     * @throws IllegalStateException if this deduplicator holds no claim for the message
     */
    public boolean markProcessed(String messageId) {
        Claim claim = take(messageId, "markProcessed");
        return claim.execution.complete(null);
    }

    /**
     * Gives the claim up after processing failed: the next delivery of the message processes it again.
     *
     * @return {@code true} if released; {@code false} if this deduplicator held no claim for the message (or it
     *     was lost meanwhile)
     */
    public boolean release(String messageId) {
        Claim claim = claims.remove(Objects.requireNonNull(messageId, "messageId must not be null"));
        if (claim == null) {
            return false;
        }
        claim.cancelExpiry();
        return claim.execution.release();
    }

    /** How many claims this deduplicator holds, for monitoring. */
    public int claimsHeld() {
        return claims.size();
    }

    /** Releases every claim still held and stops the timer that bounds claims. */
    @Override
    public void close() {
        timer.shutdownNow();
        for (String messageId : claims.keySet()) {
            Claim claim = claims.remove(messageId);
            if (claim != null) {
                claim.execution.close();
            }
        }
    }

    private Claim take(String messageId, String action) {
        Claim claim = claims.remove(Objects.requireNonNull(messageId, "messageId must not be null"));
        if (claim == null) {
            throw new IllegalStateException("Cannot " + action + " message '" + messageId + "': this deduplicator"
                    + " holds no claim for it (call isDuplicate first; a claim older than " + maxClaim
                    + " is released)");
        }
        claim.cancelExpiry();
        return claim;
    }

    private void expire(String messageId, Claim claim) {
        if (claims.remove(messageId, claim)) {
            LOG.warn("Message '{}' was claimed {} ago and neither markProcessed nor release was called; releasing"
                    + " it so that a redelivery processes it", messageId, maxClaim);
            claim.execution.release();
        }
    }

    private static final class Claim {
        final Execution<Void> execution;
        volatile @Nullable Future<?> expiry;

        Claim(Execution<Void> execution) {
            this.execution = execution;
        }

        void cancelExpiry() {
            Future<?> task = expiry;
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
         */
        public Builder maxClaim(Duration maxClaim) {
            Objects.requireNonNull(maxClaim, "maxClaim must not be null");
            if (maxClaim.isNegative() || maxClaim.isZero()) {
                throw new IllegalArgumentException("maxClaim must be positive, was " + maxClaim);
            }
            this.maxClaim = maxClaim;
            return this;
        }

        /** Builds the deduplicator; close it to release its claims and stop its timer thread. */
        public MessageDeduplicator build() {
            return new MessageDeduplicator(this);
        }
    }
}
