package org.idempotency.kafka;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.idempotency.kafka.internal.ClaimWindow;
import org.idempotency.kafka.internal.CommitTracker;
import org.idempotency.kafka.internal.DeadLetterPublisher;
import org.idempotency.kafka.internal.KafkaClients;
import org.idempotency.kafka.internal.LoopRebalanceListener;
import org.idempotency.kafka.internal.PartitionWaits;
import org.idempotency.kafka.internal.RetryPolicy;
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
 *       store is retried without limit: the records wait. Exceptions the handler's own nested idempotent calls
 *       throw are the handler's failures, never mistaken for the record's claim.</li>
 *   <li><b>Batch claims.</b> By default the keys of the records about to be processed are claimed together
 *       with one {@code beginAll} call, in one round trip when the store can acquire in batches; no more are
 *       claimed ahead than can be processed in a quarter of the lease ({@link Builder#maxClaimAhead}). A claim
 *       whose lease was lost, or ran below half, before its record was reached is never used: the record is
 *       claimed again.</li>
 *   <li><b>Interrupts.</b> If the loop's thread is interrupted (the handler throws {@link InterruptedException}
 *       or Kafka's {@link InterruptException}, or the interrupt flag is set), the record's claim is released,
 *       the loop shuts down as on {@link #close()}, and the thread's interrupt flag is set again when
 *       {@link #run()} returns.</li>
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
 * {@link #awaitTermination} and {@link #stoppedPartitions()} are thread-safe. Needs kafka-clients 3.9 or newer.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
public final class IdempotentConsumerLoop<K, V> implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentConsumerLoop.class);

    private enum State { NEW, RUNNING, CLOSED }

    private final Consumer<K, V> consumer;
    private final List<String> topics;
    private final @Nullable Pattern topicPattern;
    private final Duration pollTimeout;
    private final Duration closeTimeout;

    // confined to the loop's thread, except where said
    private final CommitTracker commits;
    private final PartitionWaits waits; // its stopped() is read by any thread
    private final PollProcessor<K, V> processor;
    private final LoopRebalanceListener rebalanceListener;

    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile @Nullable Thread loopThread;
    private volatile boolean polling;

    private IdempotentConsumerLoop(Builder<K, V> builder) {
        this.consumer = builder.consumer;
        this.topics = List.copyOf(builder.topics);
        this.topicPattern = builder.topicPattern;
        this.pollTimeout = builder.pollTimeout;
        this.closeTimeout = builder.closeTimeout;
        this.commits = new CommitTracker(consumer, closeTimeout);
        this.waits = new PartitionWaits(consumer);
        RetryPolicy retryPolicy = new RetryPolicy(builder.maxAttempts, builder.initialBackoff, builder.maxBackoff,
                builder.maxInProgressDelay, builder.retryable);
        DeadLetterPublisher<K, V> deadLetters = builder.deadLetterProducer == null ? null
                : new DeadLetterPublisher<>(builder.deadLetterProducer, builder.deadLetterTopic,
                        builder.deadLetterTimeout, this::groupId);
        ClaimWindow claimWindow = new ClaimWindow(builder.maxClaimAhead,
                builder.handler.operation().engine().lease());
        this.processor = new PollProcessor<>(builder.handler, builder.batchClaims, builder.batchCompletions,
                claimWindow, retryPolicy, waits, commits, deadLetters, builder.recordListener, stopRequested);
        this.rebalanceListener = new LoopRebalanceListener(commits, waits, builder.rebalanceListener);
    }

    /**
     * Starts configuring a loop.
     *
     * @param consumer a consumer configured with {@code enable.auto.commit=false} (and a {@code group.id}); the
     *     loop owns it from now on
     * @param handler the idempotent handler each record goes through
     * @param <K> the record key type
     * @param <V> the record value type
     * @return a builder
     */
    public static <K, V> Builder<K, V> builder(Consumer<K, V> consumer, IdempotentRecordHandler<K, V> handler) {
        return new Builder<>(consumer, handler);
    }

    /**
     * Runs the loop on the calling thread until {@link #close()} or {@link #wakeup()} (or an interrupt), then
     * commits what is finished and closes the consumer. Runs once.
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
                waits.resumeDue();
                ConsumerRecords<K, V> records;
                try {
                    polling = true;
                    if (stopRequested.get()) {
                        break;
                    }
                    records = consumer.poll(waits.pollTimeout(pollTimeout));
                } catch (WakeupException e) {
                    continue; // the loop condition decides
                } catch (RecordDeserializationException e) {
                    waits.stop(e.topicPartition(), e.offset(), 1, e);
                    continue;
                } catch (InterruptException e) {
                    LOG.info("Consumer loop interrupted while polling; shutting down");
                    stopRequested.set(true);
                    break;
                } finally {
                    polling = false;
                }
                processor.process(records);
                if (stopRequested.get()) {
                    break; // the shutdown commits, synchronously
                }
                try {
                    commits.commitAsync();
                } catch (InterruptException e) {
                    LOG.info("Consumer loop interrupted while committing; shutting down");
                    stopRequested.set(true);
                }
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
     * @param timeout how long to wait at most
     * @return whether it ended within {@code timeout}
     * @throws InterruptedException if the waiting thread is interrupted
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * The partitions stopped at a record that could not be processed, as of now.
     *
     * @return each stopped partition with where and why it stopped
     */
    public Map<TopicPartition, PartitionStop> stoppedPartitions() {
        return waits.stopped();
    }

    private void subscribe() {
        if (topicPattern != null) {
            consumer.subscribe(topicPattern, rebalanceListener);
        } else if (!topics.isEmpty()) {
            consumer.subscribe(topics, rebalanceListener);
        } else if (!consumer.subscription().isEmpty()) {
            throw new IllegalStateException("The consumer is already subscribed to " + consumer.subscription()
                    + "; configure the topics on the loop instead, so that it commits finished records when"
                    + " partitions are revoked");
        } else if (consumer.assignment().isEmpty()) {
            throw new IllegalStateException("Nothing to consume: configure topics(...) or topicPattern(...), or"
                    + " assign partitions to the consumer before run()");
        }
    }

    private @Nullable String groupId() {
        try {
            return consumer.groupMetadata().groupId();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void shutdown() {
        boolean interrupted = Thread.interrupted(); // commit and close need an uninterrupted thread
        try {
            commits.commitAllSync("shutdown");
            closeConsumer();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeConsumer() {
        try {
            KafkaClients.close(consumer, closeTimeout);
        } catch (WakeupException e) {
            try {
                KafkaClients.close(consumer, closeTimeout);
            } catch (RuntimeException again) {
                LOG.warn("Closing the consumer failed: {}", again.toString());
            }
        } catch (RuntimeException e) {
            LOG.warn("Closing the consumer failed: {}", e.toString());
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
        private boolean batchCompletions = false;
        private int maxClaimAhead = 500;
        private @Nullable RecordListener<K, V> recordListener;

        private Builder(Consumer<K, V> consumer, IdempotentRecordHandler<K, V> handler) {
            this.consumer = Objects.requireNonNull(consumer, "consumer must not be null");
            this.handler = Objects.requireNonNull(handler, "handler must not be null");
        }

        /**
         * The topics to subscribe to. Without topics or a pattern, assign partitions to the consumer yourself.
         *
         * @param topics topic names, none blank
         * @return this builder
         */
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

        /**
         * The topics to subscribe to.
         *
         * @param topics topic names, none blank
         * @return this builder
         */
        public Builder<K, V> topics(String... topics) {
            return topics(Arrays.asList(topics));
        }

        /**
         * Subscribes to every topic matching the pattern, instead of a list of topics.
         *
         * @param topicPattern the pattern
         * @return this builder
         */
        public Builder<K, V> topicPattern(Pattern topicPattern) {
            this.topicPattern = Objects.requireNonNull(topicPattern, "topicPattern must not be null");
            return this;
        }

        /**
         * Your rebalance listener, called after the loop's own (which commits on revocation).
         *
         * @param rebalanceListener the listener
         * @return this builder
         */
        public Builder<K, V> rebalanceListener(ConsumerRebalanceListener rebalanceListener) {
            this.rebalanceListener = Objects.requireNonNull(rebalanceListener, "rebalanceListener must not be null");
            return this;
        }

        /**
         * The longest poll (default 500 ms); shorter while a partition waits to be retried.
         *
         * @param pollTimeout positive
         * @return this builder
         */
        public Builder<K, V> pollTimeout(Duration pollTimeout) {
            this.pollTimeout = positive("pollTimeout", pollTimeout);
            return this;
        }

        /**
         * How many times a failing handler is tried before the record is dead-lettered or its partition stops
         * (default 5).
         *
         * @param maxAttempts at least 1
         * @return this builder
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
         *
         * @param initial positive
         * @param max not shorter than {@code initial}
         * @return this builder
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
         *
         * @param maxInProgressDelay positive
         * @return this builder
         */
        public Builder<K, V> maxInProgressDelay(Duration maxInProgressDelay) {
            this.maxInProgressDelay = positive("maxInProgressDelay", maxInProgressDelay);
            return this;
        }

        /**
         * Which handler exceptions are worth retrying (default: all). Those that are not go to the dead-letter
         * topic, or stop the partition, at once. It sees whatever the handler threw, including idempotency
         * exceptions of the handler's own nested calls; never the record's claim's own.
         *
         * @param retryable the predicate
         * @return this builder
         */
        public Builder<K, V> retryable(Predicate<Throwable> retryable) {
            this.retryable = Objects.requireNonNull(retryable, "retryable must not be null");
            return this;
        }

        /**
         * Sends records that cannot be processed to {@code <topic>.DLT} with this producer, instead of stopping
         * their partition. The producer must serialize {@code K} and {@code V} (the consumer's deserialized
         * types); the loop does not close it. The records of one poll are sent without waiting for each, then
         * waited for together before anything after them is committed (so {@code linger.ms} delays a poll once,
         * not each record); a record whose send fails is tried again. Dead-lettering is at least once: a crash
         * or a failed send may send a record again.
         *
         * @param producer the producer
         * @return this builder
         */
        public Builder<K, V> deadLetter(Producer<K, V> producer) {
            this.deadLetterProducer = Objects.requireNonNull(producer, "producer must not be null");
            return this;
        }

        /**
         * Like {@link #deadLetter(Producer)}, choosing the dead-letter topic per record.
         *
         * @param producer the producer
         * @param topic the dead-letter topic of a record
         * @return this builder
         */
        public Builder<K, V> deadLetter(Producer<K, V> producer, Function<ConsumerRecord<K, V>, String> topic) {
            deadLetter(producer);
            this.deadLetterTopic = Objects.requireNonNull(topic, "topic must not be null");
            return this;
        }

        /**
         * How long waiting for the dead-letter sends of one poll may take (default 30 s).
         *
         * @param deadLetterTimeout positive
         * @return this builder
         */
        public Builder<K, V> deadLetterTimeout(Duration deadLetterTimeout) {
            this.deadLetterTimeout = positive("deadLetterTimeout", deadLetterTimeout);
            return this;
        }

        /**
         * How long {@link #close()} waits for the loop to stop, and the bound for the final commit and for
         * closing the consumer (default 10 s).
         *
         * @param closeTimeout positive
         * @return this builder
         */
        public Builder<K, V> closeTimeout(Duration closeTimeout) {
            this.closeTimeout = positive("closeTimeout", closeTimeout);
            return this;
        }

        /**
         * Whether the keys of the records about to be processed are claimed together (default true): one round
         * trip to a store with batch acquire, instead of one per record. Claims of records not reached (a
         * partition waiting, a shutdown) are released at once.
         *
         * @param batchClaims whether to claim in batches
         * @return this builder
         */
        public Builder<K, V> batchClaims(boolean batchClaims) {
            this.batchClaims = batchClaims;
            return this;
        }

        /**
         * Whether the claims of the records a plain {@link RecordHandler} processed are completed together (default
         * false): one {@code completeAll} round trip per claim window and poll to a store with batch completion,
         * instead of one per record, before the offsets are committed. The fencing token is still checked per
         * record; a record whose completion was not stored (its claim lost, the store failing) is not committed
         * and is looked at again. The price: a member that crashes repeats the effects of the records it processed
         * since its last completion batch (at most one claim window), where completing each record repeats at
         * most the record in flight. A {@link ClaimedRecordHandler} completes its own claims either way.
         *
         * @param batchCompletions whether to complete in batches
         * @return this builder
         */
        public Builder<K, V> batchCompletions(boolean batchCompletions) {
            this.batchCompletions = batchCompletions;
            return this;
        }

        /**
         * The most records claimed ahead of processing, with batch claims (default 500). Fewer are claimed when
         * records take long: the loop learns how long they take and claims no more than it can go through in a
         * quarter of the engine's lease, so claims do not wait for renewal (or run out) before their record is
         * reached.
         *
         * @param maxClaimAhead at least 1
         * @return this builder
         */
        public Builder<K, V> maxClaimAhead(int maxClaimAhead) {
            if (maxClaimAhead < 1) {
                throw new IllegalArgumentException("maxClaimAhead must be at least 1, was " + maxClaimAhead);
            }
            this.maxClaimAhead = maxClaimAhead;
            return this;
        }

        /**
         * Told each record's outcome, with its topic, partition and offset (see {@link RecordListener}).
         *
         * @param recordListener the listener
         * @return this builder
         */
        public Builder<K, V> recordListener(RecordListener<K, V> recordListener) {
            this.recordListener = Objects.requireNonNull(recordListener, "recordListener must not be null");
            return this;
        }

        /**
         * Builds the loop; {@link IdempotentConsumerLoop#run()} starts it.
         *
         * @return the loop
         * @throws IllegalStateException if the kafka-clients on the class path is older than 3.9
         */
        public IdempotentConsumerLoop<K, V> build() {
            KafkaClients.requireSupported();
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
