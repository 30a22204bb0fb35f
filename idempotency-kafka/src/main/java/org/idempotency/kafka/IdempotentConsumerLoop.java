package org.idempotency.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Headers;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.kafka.internal.RecordTexts;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer loop around a {@link Consumer} you configured: polls, runs each record through an
 * {@link IdempotentRecordHandler}, and commits offsets only after the records before them are finished.
 * Duplicates are recognised by the store, so a record is never processed twice and never skipped.
 *
 * <ul>
 *   <li><b>Manual commits.</b> Configure the consumer with {@code enable.auto.commit=false}: the loop commits
 *       the offset after each finished record (asynchronously after each poll; synchronously when partitions
 *       are revoked and on shutdown). Finished means processed, recognised as a duplicate, skipped by policy or
 *       sent to the dead-letter topic.</li>
 *   <li><b>In progress elsewhere.</b> A record whose message is being processed by another member (after a
 *       rebalance, or the same message in another partition) is not skipped: its partition is paused and
 *       rewound to the record, and retried with growing delays until the other member finishes (the record is
 *       then a duplicate) or its lease expires (the record is then taken over and processed).</li>
 *   <li><b>Failures.</b> A handler that throws is retried with exponential backoff, up to
 *       {@code maxAttempts}, while the partition waits (other partitions go on). Then the record goes to the
 *       dead-letter topic if one is configured (with {@link DeadLetterHeaders} saying why), or the partition
 *       stops at the record ({@link #stoppedPartitions()}): nothing at or after it is committed. Records whose
 *       key or hash cannot be derived, key reuse, and recorded permanent failures are not retried. A failing
 *       store is retried without limit: the records wait.</li>
 *   <li><b>Batch claims.</b> By default the keys of all records of one poll are claimed with one
 *       {@code beginAll} call, in one round trip when the store can acquire in batches.</li>
 *   <li><b>Shutdown.</b> {@link #close()} (or {@link #wakeup()}) stops the loop after the record being
 *       processed, releases the keys claimed for the records not started, commits what is finished, and closes
 *       the consumer, within {@code closeTimeout}.</li>
 * </ul>
 *
 * <pre>{@code
 * IdempotentConsumerLoop<String, byte[]> loop = IdempotentConsumerLoop.builder(consumer, handler)
 *         .topics("orders")
 *         .deadLetter(producer)           // optional: orders.DLT
 *         .build();
 * executor.submit(loop);                  // runs until close()
 * ...
 * loop.close();
 * }</pre>
 *
 * <p>The loop owns the consumer: it subscribes it (with its own rebalance listener, which calls yours) and
 * closes it. {@link #run()} runs on one thread, once; {@link #close()}, {@link #wakeup()},
 * {@link #awaitTermination} and {@link #stoppedPartitions()} are thread-safe.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
public final class IdempotentConsumerLoop<K, V> implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentConsumerLoop.class);

    private enum State { NEW, RUNNING, CLOSED }

    private final Consumer<K, V> consumer;
    private final IdempotentRecordHandler<K, V> handler;
    private final List<String> topics;
    private final @Nullable Pattern topicPattern;
    private final @Nullable ConsumerRebalanceListener userListener;
    private final Duration pollTimeout;
    private final int maxAttempts;
    private final long initialBackoffNanos;
    private final long maxBackoffNanos;
    private final long maxInProgressDelayNanos;
    private final Predicate<Throwable> retryable;
    private final @Nullable Producer<K, V> deadLetterProducer;
    private final Function<ConsumerRecord<K, V>, String> deadLetterTopic;
    private final Duration deadLetterTimeout;
    private final Duration closeTimeout;
    private final boolean batchClaims;

    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final Map<TopicPartition, PartitionStop> stopped = new ConcurrentHashMap<>();
    private volatile @Nullable Thread loopThread;
    private volatile boolean polling;

    // confined to the loop thread
    private final Map<TopicPartition, OffsetAndMetadata> finished = new HashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> uncommitted = new HashMap<>();
    private final Map<TopicPartition, Long> resumeAt = new HashMap<>();
    private final Map<TopicPartition, Retry> retries = new HashMap<>();

    private IdempotentConsumerLoop(Builder<K, V> builder) {
        this.consumer = builder.consumer;
        this.handler = builder.handler;
        this.topics = List.copyOf(builder.topics);
        this.topicPattern = builder.topicPattern;
        this.userListener = builder.rebalanceListener;
        this.pollTimeout = builder.pollTimeout;
        this.maxAttempts = builder.maxAttempts;
        this.initialBackoffNanos = builder.initialBackoff.toNanos();
        this.maxBackoffNanos = builder.maxBackoff.toNanos();
        this.maxInProgressDelayNanos = builder.maxInProgressDelay.toNanos();
        this.retryable = builder.retryable;
        this.deadLetterProducer = builder.deadLetterProducer;
        this.deadLetterTopic = builder.deadLetterTopic;
        this.deadLetterTimeout = builder.deadLetterTimeout;
        this.closeTimeout = builder.closeTimeout;
        this.batchClaims = builder.batchClaims;
    }

    /**
     * Starts configuring a loop.
     *
     * @param consumer a consumer configured with {@code enable.auto.commit=false} (and a {@code group.id}); the
     *     loop owns it from now on
     * @param handler the idempotent handler each record goes through
     */
    public static <K, V> Builder<K, V> builder(Consumer<K, V> consumer, IdempotentRecordHandler<K, V> handler) {
        return new Builder<>(consumer, handler);
    }

    /**
     * Runs the loop on the calling thread until {@link #close()} or {@link #wakeup()}, then commits what is
     * finished and closes the consumer. Runs once.
     *
     * @throws IllegalStateException if the loop already ran or was closed, or the consumer has nothing to
     *     consume (no topics configured and no partitions assigned)
     * @throws KafkaException if the consumer fails in a way the loop cannot handle (authorization, a missing
     *     offset without a reset policy); finished records are committed before it propagates
     */
    @Override
    public void run() {
        if (!state.compareAndSet(State.NEW, State.RUNNING)) {
            throw new IllegalStateException("This consumer loop " + (state.get() == State.RUNNING
                    ? "is already running" : "was closed") + "; a loop runs once");
        }
        loopThread = Thread.currentThread();
        try {
            subscribe();
            while (!stopRequested.get()) {
                resumeDuePartitions();
                ConsumerRecords<K, V> records;
                try {
                    polling = true;
                    if (stopRequested.get()) {
                        break;
                    }
                    records = consumer.poll(nextPollTimeout());
                } catch (WakeupException e) {
                    continue; // the loop condition decides
                } catch (RecordDeserializationException e) {
                    stop(e.topicPartition(), e.offset(), 1, e);
                    continue;
                } catch (InterruptException e) {
                    LOG.info("Consumer loop interrupted; shutting down");
                    stopRequested.set(true);
                    break;
                } finally {
                    polling = false;
                }
                process(records);
                commitAsync();
            }
        } catch (RuntimeException | Error e) {
            LOG.error("Consumer loop failed; committing finished records and closing the consumer", e);
            throw e;
        } finally {
            try {
                shutdown();
            } finally {
                state.set(State.CLOSED);
                terminated.countDown();
            }
        }
    }

    /**
     * Asks the loop to stop and returns at once: a poll in progress is woken up, the record being processed is
     * finished, and no new record is started. {@link #run()} then commits and closes the consumer.
     */
    public void wakeup() {
        stopRequested.set(true);
        if (polling) {
            consumer.wakeup();
        }
    }

    /**
     * Stops the loop ({@link #wakeup()}) and waits up to {@code closeTimeout} for it to commit and close the
     * consumer. A handler still running after that keeps running; the loop stops after it. Called from the
     * loop's own thread (from a handler), it only asks the loop to stop. A loop that never ran closes its
     * consumer here.
     */
    @Override
    public void close() {
        wakeup();
        if (state.compareAndSet(State.NEW, State.CLOSED)) {
            try {
                closeConsumer();
            } finally {
                terminated.countDown();
            }
            return;
        }
        if (Thread.currentThread() == loopThread) {
            return;
        }
        try {
            if (!awaitTermination(closeTimeout)) {
                LOG.warn("Consumer loop did not stop within {}: a handler is still running; the loop stops after it",
                        closeTimeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits for {@link #run()} to end (or for a loop that never ran to be closed).
     *
     * @return whether it ended within {@code timeout}
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The partitions stopped at a record that could not be processed, as of now. */
    public Map<TopicPartition, PartitionStop> stoppedPartitions() {
        return Map.copyOf(stopped);
    }

    private void subscribe() {
        ConsumerRebalanceListener listener = new LoopRebalanceListener();
        if (topicPattern != null) {
            consumer.subscribe(topicPattern, listener);
        } else if (!topics.isEmpty()) {
            consumer.subscribe(topics, listener);
        } else if (!consumer.subscription().isEmpty()) {
            throw new IllegalStateException("The consumer is already subscribed to " + consumer.subscription()
                    + "; configure the topics on the loop instead, so that it commits finished records when"
                    + " partitions are revoked");
        } else if (consumer.assignment().isEmpty()) {
            throw new IllegalStateException("Nothing to consume: configure topics(...) or topicPattern(...), or"
                    + " assign partitions to the consumer before run()");
        }
    }

    private void process(ConsumerRecords<K, V> records) {
        if (records.isEmpty()) {
            return;
        }
        List<ConsumerRecord<K, V>> ordered;
        if (records.partitions().size() == 1) {
            ordered = records.records(records.partitions().iterator().next());
        } else {
            ordered = new ArrayList<>(records.count());
            for (TopicPartition partition : records.partitions()) {
                ordered.addAll(records.records(partition));
            }
        }
        IdempotentRecordHandler.Claims claims = batchClaims ? claim(ordered) : null;
        try {
            int index = 0;
            for (TopicPartition partition : records.partitions()) {
                int end = index + records.records(partition).size();
                ConsumerRecord<K, V> lastFinished = null;
                for (; index < end; index++) {
                    if (stopRequested.get()) {
                        break;
                    }
                    ConsumerRecord<K, V> record = ordered.get(index);
                    if (!processRecord(partition, record, claims == null ? null : claims.get(index))) {
                        if (claims != null) { // let others take the rest of this partition's batch at once
                            claims.discard(index + 1, end);
                        }
                        break;
                    }
                    lastFinished = record;
                }
                if (lastFinished != null) {
                    finish(partition, lastFinished);
                }
                if (stopRequested.get()) {
                    return;
                }
                index = end;
            }
        } finally {
            if (claims != null) {
                claims.discardAll();
            }
        }
    }

    private IdempotentRecordHandler.@Nullable Claims claim(List<ConsumerRecord<K, V>> records) {
        try {
            return handler.claimAll(records);
        } catch (RuntimeException e) {
            LOG.warn("Claiming a batch of {} records failed; claiming them one by one: {}", records.size(),
                    e.toString());
            return null;
        }
    }

    /**
     * Processes one record; {@code true} if it is finished (its offset may be committed, which the caller
     * records), {@code false} if its partition must wait (or stopped) at it.
     */
    private boolean processRecord(TopicPartition partition, ConsumerRecord<K, V> record,
            IdempotentRecordHandler.@Nullable Claim claim) {
        try {
            if (claim != null) {
                handler.handle(record, claim);
            } else {
                handler.handle(record);
            }
            if (!retries.isEmpty()) {
                retries.remove(partition);
            }
            return true;
        } catch (IdempotencyInProgressException e) {
            Retry retry = retry(partition, record.offset()).waited();
            retries.put(partition, retry);
            long delay = backoff(retry.waits, maxInProgressDelayNanos);
            LOG.debug("Record {} is being processed elsewhere; retrying it in {} ms", RecordTexts.coordinates(record),
                    TimeUnit.NANOSECONDS.toMillis(delay));
            retryLater(partition, record.offset(), delay);
            return false;
        } catch (IdempotencyStoreException e) {
            Retry retry = retry(partition, record.offset()).waited();
            retries.put(partition, retry);
            long delay = backoff(retry.waits, maxBackoffNanos);
            LOG.warn("The idempotency store failed for record {}; the partition waits {} ms and tries again: {}",
                    RecordTexts.coordinates(record), TimeUnit.NANOSECONDS.toMillis(delay), e.getMessage());
            retryLater(partition, record.offset(), delay);
            return false;
        } catch (Exception e) {
            return failed(partition, record, e);
        }
    }

    private boolean failed(TopicPartition partition, ConsumerRecord<K, V> record, Exception error) {
        Retry previous = retry(partition, record.offset());
        int attempts = previous.failures + 1;
        String reason = notRetryableReason(error);
        if (reason == null && attempts < maxAttempts) {
            retries.put(partition, previous.failed());
            long delay = backoff(attempts, maxBackoffNanos);
            LOG.warn("Handler failed on record {} (attempt {} of {}); retrying in {} ms: {}",
                    RecordTexts.coordinates(record), attempts, maxAttempts, TimeUnit.NANOSECONDS.toMillis(delay),
                    RecordTexts.describe(error, 500));
            retryLater(partition, record.offset(), delay);
            return false;
        }
        String why = reason != null ? reason : "handler-failed";
        if (deadLetterProducer == null) {
            stop(partition, record.offset(), attempts, error);
            return false;
        }
        if (deadLetter(deadLetterProducer, record, error, why, attempts)) {
            retries.remove(partition);
            return true; // finished: the caller records its offset
        }
        retries.put(partition, previous.failed()); // the next failure goes to the dead-letter topic at once
        retryLater(partition, record.offset(), maxBackoffNanos);
        return false;
    }

    private @Nullable String notRetryableReason(Exception error) {
        if (error instanceof IdempotencyKeyReusedException) {
            return "key-reused";
        }
        if (error instanceof RecordIdentityException) {
            return "unidentifiable";
        }
        if (error instanceof IdempotencyReplayedFailureException) {
            return "failure-recorded";
        }
        boolean retry;
        try {
            retry = retryable.test(error);
        } catch (RuntimeException e) {
            LOG.warn("The retryable predicate threw; retrying", e);
            retry = true;
        }
        return retry ? null : "not-retryable";
    }

    private boolean deadLetter(Producer<K, V> producer, ConsumerRecord<K, V> record, Exception error,
            String reason, int attempts) {
        String coordinates = RecordTexts.coordinates(record);
        try {
            String topic = deadLetterTopic.apply(record);
            ProducerRecord<K, V> out = new ProducerRecord<>(topic, null, null, record.key(), record.value(),
                    record.headers());
            Headers headers = out.headers();
            header(headers, DeadLetterHeaders.ORIGINAL_TOPIC, record.topic());
            header(headers, DeadLetterHeaders.ORIGINAL_PARTITION, Integer.toString(record.partition()));
            header(headers, DeadLetterHeaders.ORIGINAL_OFFSET, Long.toString(record.offset()));
            header(headers, DeadLetterHeaders.ORIGINAL_TIMESTAMP, Long.toString(record.timestamp()));
            String group = groupId();
            if (group != null) {
                header(headers, DeadLetterHeaders.CONSUMER_GROUP, group);
            }
            header(headers, DeadLetterHeaders.REASON, reason);
            header(headers, DeadLetterHeaders.EXCEPTION_CLASS, error.getClass().getName());
            String message = error.getMessage();
            if (message != null) {
                header(headers, DeadLetterHeaders.EXCEPTION_MESSAGE,
                        message.length() <= 1000 ? message : message.substring(0, 1000));
            }
            header(headers, DeadLetterHeaders.ATTEMPTS, Integer.toString(attempts));
            producer.send(out).get(deadLetterTimeout.toNanos(), TimeUnit.NANOSECONDS);
            LOG.warn("Record {} sent to dead-letter topic {} ({} after {} attempt(s)): {}", coordinates, topic,
                    reason, attempts, RecordTexts.describe(error, 500));
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopRequested.set(true);
            LOG.warn("Interrupted while sending record {} to the dead-letter topic; it is not finished", coordinates);
            return false;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.error("Could not send record {} to the dead-letter topic; its partition waits and tries again: {}",
                    coordinates, e instanceof ExecutionException ? e.getCause() : e.toString());
            return false;
        }
    }

    private @Nullable String groupId() {
        try {
            return consumer.groupMetadata().groupId();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static void header(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Records that the partition's records up to this one are finished: its next offset may be committed. */
    private void finish(TopicPartition partition, ConsumerRecord<K, V> record) {
        OffsetAndMetadata next = new OffsetAndMetadata(record.offset() + 1, record.leaderEpoch(), "");
        finished.put(partition, next);
        uncommitted.put(partition, next);
    }

    private Retry retry(TopicPartition partition, long offset) {
        Retry retry = retries.get(partition);
        return retry != null && retry.offset == offset ? retry : new Retry(offset, 0, 0);
    }

    private long backoff(int attempt, long maxNanos) {
        long delay = initialBackoffNanos;
        for (int i = 1; i < attempt && delay < maxNanos; i++) {
            delay *= 2;
        }
        return Math.min(delay, maxNanos);
    }

    /** Rewinds the partition to the record and pauses it until the delay has passed. */
    private void retryLater(TopicPartition partition, long offset, long delayNanos) {
        consumer.seek(partition, offset);
        consumer.pause(List.of(partition));
        resumeAt.put(partition, System.nanoTime() + delayNanos);
    }

    /** Rewinds the partition to the record and pauses it for good (until it is reassigned). */
    private void stop(TopicPartition partition, long offset, int attempts, Exception error) {
        consumer.seek(partition, offset);
        consumer.pause(List.of(partition));
        resumeAt.remove(partition);
        retries.remove(partition);
        stopped.put(partition, new PartitionStop(partition, offset, attempts, RecordTexts.describe(error, 1000),
                Instant.now()));
        LOG.error("Partition {} stopped at offset {} after {} attempt(s); nothing at or after it is committed, and it"
                + " resumes only when reassigned (configure a dead-letter topic to set such records aside)",
                partition, offset, attempts, error);
    }

    private void resumeDuePartitions() {
        if (resumeAt.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        List<TopicPartition> due = new ArrayList<>();
        resumeAt.forEach((partition, at) -> {
            if (now - at >= 0) {
                due.add(partition);
            }
        });
        if (due.isEmpty()) {
            return;
        }
        due.forEach(resumeAt::remove);
        due.retainAll(consumer.assignment());
        consumer.resume(due);
    }

    private Duration nextPollTimeout() {
        long timeout = pollTimeout.toNanos();
        long now = System.nanoTime();
        for (long at : resumeAt.values()) {
            timeout = Math.min(timeout, Math.max(0, at - now));
        }
        return Duration.ofNanos(timeout);
    }

    private void commitAsync() {
        if (uncommitted.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(uncommitted);
        uncommitted.clear();
        consumer.commitAsync(offsets, (committed, error) -> {
            if (error == null) {
                committed.forEach(finished::remove); // removes only entries still equal to what was committed
                return;
            }
            LOG.warn("Committing offsets {} failed; they are committed again later: {}", offsets, error.toString());
            offsets.forEach((partition, offset) -> {
                if (offset.equals(finished.get(partition))) {
                    uncommitted.putIfAbsent(partition, offset);
                }
            });
        });
    }

    /** Commits the finished records of the given partitions, now. Failures are logged, not thrown. */
    private void commitSync(Collection<TopicPartition> partitions, String when) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : partitions) {
            OffsetAndMetadata offset = finished.get(partition);
            if (offset != null) {
                offsets.put(partition, offset);
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                consumer.commitSync(offsets, closeTimeout);
                offsets.forEach(finished::remove);
                offsets.keySet().forEach(uncommitted::remove);
                LOG.debug("Committed {} on {}", offsets, when);
                return;
            } catch (WakeupException e) {
                if (attempt == 1) {
                    continue; // a wakeup meant for a poll; the loop stops anyway
                }
                LOG.warn("Could not commit {} on {}: woken up", offsets, when);
                return;
            } catch (KafkaException e) {
                LOG.warn("Could not commit {} on {}; those records will be delivered again and recognised as"
                        + " duplicates: {}", offsets, when, e.toString());
                return;
            }
        }
    }

    private void shutdown() {
        boolean interrupted = Thread.interrupted(); // commit and close need an uninterrupted thread
        try {
            commitSync(new ArrayList<>(finished.keySet()), "shutdown");
            closeConsumer();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeConsumer() {
        CloseOptions options = CloseOptions.timeout(closeTimeout);
        try {
            consumer.close(options);
        } catch (WakeupException e) {
            try {
                consumer.close(options);
            } catch (RuntimeException again) {
                LOG.warn("Closing the consumer failed: {}", again.toString());
            }
        } catch (RuntimeException e) {
            LOG.warn("Closing the consumer failed: {}", e.toString());
        }
    }

    /** Forgets the state of partitions that are no longer assigned. */
    private void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            finished.remove(partition);
            uncommitted.remove(partition);
            resumeAt.remove(partition);
            retries.remove(partition);
            stopped.remove(partition);
        }
    }

    /** Where a partition waits: the record's offset, its failed attempts and its waits (in progress, store). */
    private record Retry(long offset, int failures, int waits) {
        Retry failed() {
            return new Retry(offset, failures + 1, waits);
        }

        Retry waited() {
            return new Retry(offset, failures, waits + 1);
        }
    }

    /** Commits on revocation, forgets lost partitions, and keeps waiting partitions paused. */
    private final class LoopRebalanceListener implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            try {
                commitSync(partitions, "revocation of " + partitions);
            } finally {
                forget(partitions);
                if (userListener != null) {
                    userListener.onPartitionsRevoked(partitions);
                }
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            LOG.warn("Partitions {} were lost (this consumer left the group without revoking them); their finished"
                    + " records not yet committed will be delivered again and recognised as duplicates", partitions);
            forget(partitions);
            if (userListener != null) {
                userListener.onPartitionsLost(partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            // pause state survives a rebalance only for partitions that stay assigned: apply it again
            Set<TopicPartition> waiting = new HashSet<>(resumeAt.keySet());
            waiting.addAll(stopped.keySet());
            waiting.retainAll(consumer.assignment());
            if (!waiting.isEmpty()) {
                consumer.pause(waiting);
            }
            if (userListener != null) {
                userListener.onPartitionsAssigned(partitions);
            }
        }
    }

    /**
     * Configures an {@link IdempotentConsumerLoop}. Each setter validates its argument. Not thread-safe.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     */
    public static final class Builder<K, V> {
        private final Consumer<K, V> consumer;
        private final IdempotentRecordHandler<K, V> handler;
        private List<String> topics = List.of();
        private @Nullable Pattern topicPattern;
        private @Nullable ConsumerRebalanceListener rebalanceListener;
        private Duration pollTimeout = Duration.ofMillis(500);
        private int maxAttempts = 5;
        private Duration initialBackoff = Duration.ofMillis(200);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private Duration maxInProgressDelay = Duration.ofSeconds(1);
        private Predicate<Throwable> retryable = error -> true;
        private @Nullable Producer<K, V> deadLetterProducer;
        private Function<ConsumerRecord<K, V>, String> deadLetterTopic = record -> record.topic() + ".DLT";
        private Duration deadLetterTimeout = Duration.ofSeconds(30);
        private Duration closeTimeout = Duration.ofSeconds(10);
        private boolean batchClaims = true;

        private Builder(Consumer<K, V> consumer, IdempotentRecordHandler<K, V> handler) {
            this.consumer = Objects.requireNonNull(consumer, "consumer must not be null");
            this.handler = Objects.requireNonNull(handler, "handler must not be null");
        }

        /** The topics to subscribe to. Without topics or a pattern, assign partitions to the consumer yourself. */
        public Builder<K, V> topics(Collection<String> topics) {
            Objects.requireNonNull(topics, "topics must not be null");
            for (String topic : topics) {
                if (topic == null || topic.isBlank()) {
                    throw new IllegalArgumentException("topic names must not be blank, got " + topics);
                }
            }
            this.topics = List.copyOf(topics);
            return this;
        }

        /** The topics to subscribe to. */
        public Builder<K, V> topics(String... topics) {
            return topics(Arrays.asList(topics));
        }

        /** Subscribes to every topic matching the pattern, instead of a list of topics. */
        public Builder<K, V> topicPattern(Pattern topicPattern) {
            this.topicPattern = Objects.requireNonNull(topicPattern, "topicPattern must not be null");
            return this;
        }

        /** Your rebalance listener, called after the loop's own (which commits on revocation). */
        public Builder<K, V> rebalanceListener(ConsumerRebalanceListener rebalanceListener) {
            this.rebalanceListener = Objects.requireNonNull(rebalanceListener, "rebalanceListener must not be null");
            return this;
        }

        /** The longest poll (default 500 ms); shorter while a partition waits to be retried. */
        public Builder<K, V> pollTimeout(Duration pollTimeout) {
            this.pollTimeout = positive("pollTimeout", pollTimeout);
            return this;
        }

        /**
         * How many times a failing handler is tried before the record is dead-lettered or its partition stops
         * (default 5).
         */
        public Builder<K, V> maxAttempts(int maxAttempts) {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
            }
            this.maxAttempts = maxAttempts;
            return this;
        }

        /**
         * The delay before the second attempt (default 200 ms), doubling for each further attempt up to
         * {@code max} (default 10 s). The same delays apply while the store is failing.
         */
        public Builder<K, V> backoff(Duration initial, Duration max) {
            positive("initial backoff", initial);
            positive("max backoff", max);
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("the max backoff (" + max + ") must not be shorter than the"
                        + " initial backoff (" + initial + ")");
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /**
         * The longest wait between two looks at a record held by another member (default 1 s); the first wait is
         * the initial backoff.
         */
        public Builder<K, V> maxInProgressDelay(Duration maxInProgressDelay) {
            this.maxInProgressDelay = positive("maxInProgressDelay", maxInProgressDelay);
            return this;
        }

        /**
         * Which handler exceptions are worth retrying (default: all). Those that are not go to the dead-letter
         * topic, or stop the partition, at once.
         */
        public Builder<K, V> retryable(Predicate<Throwable> retryable) {
            this.retryable = Objects.requireNonNull(retryable, "retryable must not be null");
            return this;
        }

        /**
         * Sends records that cannot be processed to {@code <topic>.DLT} with this producer, instead of stopping
         * their partition. The producer must serialize {@code K} and {@code V} (the consumer's deserialized
         * types); the loop does not close it. Dead-lettering is at least once: a crash right after sending may
         * send the record again.
         */
        public Builder<K, V> deadLetter(Producer<K, V> producer) {
            this.deadLetterProducer = Objects.requireNonNull(producer, "producer must not be null");
            return this;
        }

        /** Like {@link #deadLetter(Producer)}, choosing the dead-letter topic per record. */
        public Builder<K, V> deadLetter(Producer<K, V> producer, Function<ConsumerRecord<K, V>, String> topic) {
            deadLetter(producer);
            this.deadLetterTopic = Objects.requireNonNull(topic, "topic must not be null");
            return this;
        }

        /** How long sending one record to the dead-letter topic may take (default 30 s). */
        public Builder<K, V> deadLetterTimeout(Duration deadLetterTimeout) {
            this.deadLetterTimeout = positive("deadLetterTimeout", deadLetterTimeout);
            return this;
        }

        /**
         * How long {@link #close()} waits for the loop to stop, and the bound for the final commit and for
         * closing the consumer (default 10 s).
         */
        public Builder<K, V> closeTimeout(Duration closeTimeout) {
            this.closeTimeout = positive("closeTimeout", closeTimeout);
            return this;
        }

        /**
         * Whether the keys of all records of one poll are claimed at once (default true): one round trip to a
         * store with batch acquire, instead of one per record. Claims of records not reached (a partition
         * waiting, a shutdown) are released at once.
         */
        public Builder<K, V> batchClaims(boolean batchClaims) {
            this.batchClaims = batchClaims;
            return this;
        }

        /** Builds the loop; {@link IdempotentConsumerLoop#run()} starts it. */
        public IdempotentConsumerLoop<K, V> build() {
            return new IdempotentConsumerLoop<>(this);
        }

        private static Duration positive(String name, Duration value) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + value);
            }
            return value;
        }
    }
}
