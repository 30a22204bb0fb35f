package org.idempotency.kafka;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.kafka.IdempotentRecordHandler.Attempt;
import org.idempotency.kafka.IdempotentRecordHandler.Claim;
import org.idempotency.kafka.IdempotentRecordHandler.Claims;
import org.idempotency.kafka.internal.ClaimWindow;
import org.idempotency.kafka.internal.CommitTracker;
import org.idempotency.kafka.internal.DeadLetterPublisher;
import org.idempotency.kafka.internal.PartitionWaits;
import org.idempotency.kafka.internal.RecordTexts;
import org.idempotency.kafka.internal.RetryPolicy;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link IdempotentConsumerLoop} does with the records of one poll: claims their keys ahead in windows,
 * runs each record through the handler, decides from the step that failed whether its partition waits, retries,
 * stops or dead-letters it ({@link RetryPolicy}), tells the {@link RecordListener}, and records the finished
 * records for the commit ({@link CommitTracker}) once their dead-letter sends are confirmed and their claims
 * completed. The claims of the records a plain handler processed are completed together
 * ({@link DeferredCompletions}): at the end of each claim window and of the poll, in one store round trip where
 * the store allows it; a record whose completion was not stored is not committed, and its partition is rewound to
 * it. Polling, committing and the consumer's life are the loop's.
 *
 * <p>Confined to the loop's thread.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
final class PollProcessor<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentConsumerLoop.class);

    private final IdempotentRecordHandler<K, V> handler;
    private final boolean batchClaims;
    private final boolean batchCompletions;
    private final ClaimWindow claimWindow;
    private final RetryPolicy retryPolicy;
    private final PartitionWaits waits;
    private final CommitTracker commits;
    private final @Nullable DeadLetterPublisher<K, V> deadLetters;
    private final @Nullable RecordListener<K, V> recordListener;
    /** Set by the loop to stop, and by this processor when the thread is interrupted. */
    private final AtomicBoolean stopRequested;
    /** The processed records of the current poll whose claims are not completed yet. */
    private final DeferredCompletions<K, V> deferred;
    /** Per partition, the first record of the current poll that must be looked at again though processed. */
    private final Map<TopicPartition, Setback<K, V>> setbacks = new HashMap<>();

    /** A record to rewind its partition to after the poll, and how to report it. */
    private record Setback<K, V>(ConsumerRecord<K, V> record, int attempts, RecordEvent.Outcome outcome,
            Throwable error, long delayNanos) {
    }

    PollProcessor(IdempotentRecordHandler<K, V> handler, boolean batchClaims, boolean batchCompletions,
            ClaimWindow claimWindow,
            RetryPolicy retryPolicy, PartitionWaits waits, CommitTracker commits,
            @Nullable DeadLetterPublisher<K, V> deadLetters, @Nullable RecordListener<K, V> recordListener,
            AtomicBoolean stopRequested) {
        this.handler = handler;
        this.batchClaims = batchClaims;
        this.batchCompletions = batchCompletions;
        this.claimWindow = claimWindow;
        this.retryPolicy = retryPolicy;
        this.waits = waits;
        this.commits = commits;
        this.deadLetters = deadLetters;
        this.recordListener = recordListener;
        this.stopRequested = stopRequested;
        this.deferred = new DeferredCompletions<>(handler.operation().engine());
    }

    /**
     * Processes one poll's records, partition after partition, each in order, until a partition has to wait; the
     * keys are claimed ahead in windows. Records finished are recorded for the commit once the dead-letter
     * sends among them are confirmed.
     */
    void process(ConsumerRecords<K, V> records) {
        if (records.isEmpty()) {
            return;
        }
        List<ConsumerRecord<K, V>> ordered = new ArrayList<>(records.count());
        for (TopicPartition partition : records.partitions()) {
            ordered.addAll(records.records(partition));
        }
        Map<TopicPartition, ConsumerRecord<K, V>> lastFinished = new LinkedHashMap<>();
        setbacks.clear();
        Window window = new Window(ordered);
        try {
            int index = 0;
            for (TopicPartition partition : records.partitions()) {
                int end = index + records.records(partition).size();
                int start = index;
                try {
                    for (; index < end; index++) {
                        if (stopRequested.get() || interruptedBetweenRecords()) {
                            return;
                        }
                        if (setbacks.containsKey(partition)) { // a completion of this partition was not stored
                            window.discard(index, end);
                            break;
                        }
                        if (!processRecord(partition, ordered.get(index), window.claimFor(index))) {
                            window.discard(index + 1, end); // let others take the rest of this partition's records
                            break;
                        }
                    }
                } finally {
                    if (index > start) { // the records before index are finished (the one at index is not)
                        lastFinished.put(partition, ordered.get(index - 1));
                    }
                }
                index = end;
            }
        } finally {
            window.close();
            finish(lastFinished);
        }
    }

    private boolean interruptedBetweenRecords() {
        if (!Thread.currentThread().isInterrupted()) {
            return false;
        }
        LOG.info("Consumer loop interrupted; shutting down before the next record");
        stopRequested.set(true);
        return true;
    }

    /**
     * Processes one record; {@code true} if it is finished (or sent to the dead-letter topic, to be confirmed),
     * {@code false} if its partition must wait (or stopped) at it.
     */
    private boolean processRecord(TopicPartition partition, ConsumerRecord<K, V> record, @Nullable Claim claim) {
        DeferredCompletions<K, V> completions = batchCompletions ? deferred : null;
        Attempt attempt = handler.attempt(record, claim, completions);
        if (attempt.error instanceof IdempotentRecordHandler.DeferredKeyException) {
            // an earlier record of this poll with the same message key waits for its completion: complete first
            flushCompletions();
            attempt = handler.attempt(record, claim, completions);
        }
        if (attempt.kind != Attempt.Kind.FINISHED) {
            flushCompletions(); // the records before this one are reported (and stored) first, in order
        }
        PartitionWaits.Retry retry = waits.retry(partition, record.offset());
        Throwable error = attempt.error;
        switch (attempt.kind) {
            case FINISHED:
                waits.passed(partition);
                int attempts = retry.failures() + (attempt.handlerRan() ? 1 : 0);
                if (attempt.deferred != null) {
                    deferred.add(record, attempt.deferred, attempts); // PROCESSED once its completion is stored
                } else {
                    notify(record, finishedOutcome(Objects.requireNonNull(attempt.outcome)), attempts, null);
                }
                return true;
            case INTERRUPTED:
                return interrupted(partition, record, retry, Objects.requireNonNull(error));
            case CLAIM_FAILED:
                return claimFailed(partition, record, retry, Objects.requireNonNull(error));
            case HANDLER_FAILED:
            default:
                if (error instanceof Error fatal) {
                    throw fatal;
                }
                return handlerFailed(partition, record, retry, Objects.requireNonNull(error));
        }
    }

    private boolean interrupted(TopicPartition partition, ConsumerRecord<K, V> record, PartitionWaits.Retry retry,
            Throwable error) {
        Thread.currentThread().interrupt(); // kept for whoever owns the thread; cleared only to commit and close
        stopRequested.set(true);
        waits.rewind(partition, record.offset());
        LOG.info("Consumer loop interrupted while processing record {}; its claim was released and the loop shuts"
                + " down", RecordTexts.coordinates(record));
        notify(record, RecordEvent.Outcome.INTERRUPTED, retry.failures(), error);
        return false;
    }

    private boolean claimFailed(TopicPartition partition, ConsumerRecord<K, V> record, PartitionWaits.Retry retry,
            Throwable error) {
        RetryPolicy.ClaimTrouble trouble = RetryPolicy.classify(error);
        switch (trouble) {
            case HELD_ELSEWHERE:
            case STORE_FAILED:
                PartitionWaits.Retry waited = retry.waited();
                waits.remember(partition, waited);
                long delay = retryPolicy.waitNanos(trouble, waited.waits());
                if (trouble == RetryPolicy.ClaimTrouble.HELD_ELSEWHERE) {
                    LOG.debug("Record {} is being processed elsewhere; retrying it in {} ms",
                            RecordTexts.coordinates(record), TimeUnit.NANOSECONDS.toMillis(delay));
                } else {
                    LOG.warn("The idempotency store failed for record {}; the partition waits {} ms and tries again:"
                            + " {}", RecordTexts.coordinates(record), TimeUnit.NANOSECONDS.toMillis(delay),
                            error.getMessage());
                }
                waits.retryLater(partition, record.offset(), delay);
                notify(record, RecordEvent.Outcome.WAITING, retry.failures(), error);
                return false;
            case HOPELESS:
                return giveUp(partition, record, retry.failures() + 1, error,
                        Objects.requireNonNull(RetryPolicy.hopelessReason(error)));
            case UNEXPECTED:
            default:
                return handlerFailed(partition, record, retry, error);
        }
    }

    private boolean handlerFailed(TopicPartition partition, ConsumerRecord<K, V> record, PartitionWaits.Retry retry,
            Throwable error) {
        int attempts = retry.failures() + 1;
        String reason = retryPolicy.giveUpReason(error, attempts);
        if (reason != null) {
            return giveUp(partition, record, attempts, error, reason);
        }
        waits.remember(partition, retry.failed());
        long delay = retryPolicy.failureDelayNanos(attempts);
        LOG.warn("Handler failed on record {} (attempt {} of {}); retrying in {} ms: {}",
                RecordTexts.coordinates(record), attempts, retryPolicy.maxAttempts(),
                TimeUnit.NANOSECONDS.toMillis(delay), RecordTexts.describe(error, 500));
        waits.retryLater(partition, record.offset(), delay);
        notify(record, RecordEvent.Outcome.RETRY_SCHEDULED, attempts, error);
        return false;
    }

    /** Sends the record to the dead-letter topic (finished once confirmed), or stops its partition at it. */
    private boolean giveUp(TopicPartition partition, ConsumerRecord<K, V> record, int attempts, Throwable error,
            String reason) {
        if (deadLetters == null) {
            waits.stop(partition, record.offset(), attempts, error);
            notify(record, RecordEvent.Outcome.PARTITION_STOPPED, attempts, error);
            return false;
        }
        deadLetters.send(record, error, reason, attempts);
        waits.passed(partition);
        return true;
    }

    /**
     * Waits for the poll's dead-letter sends, then records the finished records for the commit. A partition whose
     * send failed is finished only up to that record, rewound to it and tried again later (its handler runs again,
     * and the next failure goes to the dead-letter topic at once); its later records come back as duplicates.
     */
    private void finish(Map<TopicPartition, ConsumerRecord<K, V>> lastFinished) {
        flushCompletions();
        if (deadLetters != null && deadLetters.hasPending()) {
            for (DeadLetterPublisher.Pending<K, V> send : deadLetters.awaitSent()) {
                ConsumerRecord<K, V> record = send.record();
                Throwable sendFailure = send.sendFailure();
                if (sendFailure == null) {
                    notify(record, RecordEvent.Outcome.DEAD_LETTERED, send.attempts(), send.error());
                } else {
                    setBack(new Setback<>(record, send.attempts(), RecordEvent.Outcome.RETRY_SCHEDULED, sendFailure,
                            retryPolicy.maxBackoffNanos()));
                }
            }
        }
        setbacks.forEach((partition, setback) -> {
            ConsumerRecord<K, V> record = setback.record();
            lastFinished.remove(partition);
            commits.finished(partition, record.offset(), record.leaderEpoch());
            waits.remember(partition, new PartitionWaits.Retry(record.offset(), setback.attempts(), 0));
            if (stopRequested.get() || Thread.currentThread().isInterrupted()) {
                stopRequested.set(true);
                waits.rewind(partition, record.offset());
            } else {
                waits.retryLater(partition, record.offset(), setback.delayNanos());
            }
            notify(record, setback.outcome(), setback.attempts(), setback.error());
        });
        setbacks.clear();
        lastFinished.forEach((partition, record) ->
                commits.finished(partition, record.offset() + 1, record.leaderEpoch()));
    }

    /**
     * Completes the claims of the processed records in one batch: a stored one is {@code PROCESSED}; one not stored
     * (its claim was lost, or the store failed) sets its partition back to it, so that it is not committed and is
     * looked at again (its handler ran; the next attempt replays it if another member completed it meanwhile).
     */
    private void flushCompletions() {
        for (DeferredCompletions.Flushed<K, V> flushed : deferred.flush()) {
            ConsumerRecord<K, V> record = flushed.pending().record();
            if (flushed.stored()) {
                notify(record, RecordEvent.Outcome.PROCESSED, flushed.pending().attempts(), null);
            } else {
                LOG.warn("The completion of record {} (key '{}') was not stored (its claim was lost, or the store"
                        + " failed; the engine reported which); it is not committed and is looked at again",
                        RecordTexts.coordinates(record),
                        IdempotencyException.safeKey(flushed.pending().execution().key()));
                setBack(new Setback<>(record, flushed.pending().attempts(), RecordEvent.Outcome.WAITING,
                        new IdempotencyStoreException("The completion of the record's claim was not stored",
                                flushed.pending().execution().storedKey(), null),
                        retryPolicy.waitNanos(RetryPolicy.ClaimTrouble.STORE_FAILED, 1)));
            }
        }
    }

    /** Keeps the earliest set-back record of each partition. */
    private void setBack(Setback<K, V> setback) {
        ConsumerRecord<K, V> record = setback.record();
        setbacks.merge(new TopicPartition(record.topic(), record.partition()), setback,
                (earlier, later) -> earlier.record().offset() <= later.record().offset() ? earlier : later);
    }

    private static RecordEvent.Outcome finishedOutcome(RecordOutcome outcome) {
        switch (outcome) {
            case PROCESSED:
                return RecordEvent.Outcome.PROCESSED;
            case DUPLICATE:
                return RecordEvent.Outcome.DUPLICATE;
            case SKIPPED_KEY_REUSED:
            default:
                return RecordEvent.Outcome.SKIPPED_KEY_REUSED;
        }
    }

    private void notify(ConsumerRecord<K, V> record, RecordEvent.Outcome outcome, int attempts,
            @Nullable Throwable error) {
        if (recordListener == null) {
            return;
        }
        try {
            recordListener.onRecord(new RecordEvent<>(record, outcome, attempts, error));
        } catch (Throwable e) { // an Error too: a listener must never end the loop or change an outcome
            LOG.warn("The record listener failed on {} of record {}; ignored", outcome,
                    RecordTexts.coordinates(record), e);
        }
    }


    /**
     * The claims of the records about to be processed: claimed together in windows of the poll's records, as
     * {@link ClaimWindow} sizes them, and released when not used. Without batch claims, or when claiming a window
     * failed, records are claimed one by one as they are reached.
     */
    private final class Window {
        private final List<ConsumerRecord<K, V>> records;
        private @Nullable Claims claims;
        private int start;
        private int end;
        private int reached;
        private long claimedAt;

        Window(List<ConsumerRecord<K, V>> records) {
            this.records = records;
        }

        /** The claim for the record at {@code index}, claiming the next window first if needed. */
        @Nullable Claim claimFor(int index) {
            if (!batchClaims) {
                return null;
            }
            if (index >= end) {
                close();
                flushCompletions(); // the next window may hold a key of a processed record: complete those first
                start = index;
                end = index + claimWindow.next(records.size() - index);
                reached = 0;
                claimedAt = System.nanoTime();
                claims = claim(records.subList(start, end));
            }
            reached++;
            return claims == null ? null : claims.get(index - start);
        }

        /** Releases the unused claims of the records from {@code from} (inclusive) to {@code to} (exclusive). */
        void discard(int from, int to) {
            if (claims != null) {
                claims.discard(from - start, to - start);
            }
        }

        /** Releases every unused claim of the window and learns how long its records took. */
        void close() {
            if (claims != null) {
                claims.discardAll();
                claims = null;
            }
            if (reached > 0) {
                claimWindow.measured(reached, System.nanoTime() - claimedAt);
                reached = 0;
            }
        }

        private @Nullable Claims claim(List<ConsumerRecord<K, V>> window) {
            try {
                return handler.claimAll(window);
            } catch (RuntimeException e) {
                LOG.warn("Claiming a batch of {} records failed; claiming them one by one: {}", window.size(),
                        e.toString());
                return null;
            }
        }
    }
}
