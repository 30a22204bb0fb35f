package org.idempotency.kafka.internal;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;
import org.idempotency.kafka.DeadLetterHeaders;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends records the loop gives up on to their dead-letter topic, with the {@link DeadLetterHeaders} after the
 * record's own headers. Sends are not waited for one by one: the loop sends every record of a poll it gives up
 * on, then {@link #awaitSent() waits} for them together before it commits past them, so the producer's
 * {@code linger.ms} is paid once per poll, not once per record.
 *
 * <p>Confined to the loop's thread.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
public final class DeadLetterPublisher<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterPublisher.class);

    /** A record sent to the dead-letter topic, its send not yet confirmed. */
    public static final class Pending<K, V> {
        private final ConsumerRecord<K, V> record;
        private final String topic;
        private final String reason;
        private final int attempts;
        private final Throwable error;
        private final @Nullable Future<RecordMetadata> sent;
        private @Nullable Throwable sendFailure;

        private Pending(ConsumerRecord<K, V> record, String topic, String reason, int attempts, Throwable error,
                @Nullable Future<RecordMetadata> sent, @Nullable Throwable sendFailure) {
            this.record = record;
            this.topic = topic;
            this.reason = reason;
            this.attempts = attempts;
            this.error = error;
            this.sent = sent;
            this.sendFailure = sendFailure;
        }

        public ConsumerRecord<K, V> record() {
            return record;
        }

        /** Why the record was given up: a {@link DeadLetterHeaders#REASON} value. */
        public String reason() {
            return reason;
        }

        public int attempts() {
            return attempts;
        }

        /** The error the record was given up for. */
        public Throwable error() {
            return error;
        }

        /** Why the send failed, or {@code null} if it succeeded. */
        public @Nullable Throwable sendFailure() {
            return sendFailure;
        }
    }

    private final Producer<K, V> producer;
    private final Function<ConsumerRecord<K, V>, String> topic;
    private final Duration timeout;
    private final Supplier<@Nullable String> groupId;
    private final List<Pending<K, V>> pending = new ArrayList<>();

    /**
     * @param producer serializes {@code K} and {@code V}; not closed here
     * @param topic the dead-letter topic of a record
     * @param timeout how long waiting for the sends of one poll may take
     * @param groupId the consumer group, for the header, or {@code null}
     */
    public DeadLetterPublisher(Producer<K, V> producer, Function<ConsumerRecord<K, V>, String> topic,
            Duration timeout, Supplier<@Nullable String> groupId) {
        this.producer = producer;
        this.topic = topic;
        this.timeout = timeout;
        this.groupId = groupId;
    }

    /** Whether sends wait to be confirmed. */
    public boolean hasPending() {
        return !pending.isEmpty();
    }

    /** Sends the record to its dead-letter topic, without waiting; {@link #awaitSent()} says how it went. */
    public void send(ConsumerRecord<K, V> record, Throwable error, String reason, int attempts) {
        String target;
        try {
            target = topic.apply(record);
            ProducerRecord<K, V> out = new ProducerRecord<>(target, null, null, record.key(), record.value(),
                    record.headers());
            addHeaders(out.headers(), record, error, reason, attempts);
            pending.add(new Pending<>(record, target, reason, attempts, error, producer.send(out), null));
        } catch (RuntimeException e) { // a failing topic function, serializer, or a closed producer
            pending.add(new Pending<>(record, "?", reason, attempts, error, null, e));
        }
    }

    /**
     * Waits for every send since the last call, for at most the timeout in all.
     *
     * @return the sends, in the order they were made, each saying whether it failed; sends not confirmed in
     *     time, or when the thread is interrupted, count as failed
     */
    public List<Pending<K, V>> awaitSent() {
        if (pending.isEmpty()) {
            return List.of();
        }
        List<Pending<K, V>> done = new ArrayList<>(pending);
        pending.clear();
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        for (Pending<K, V> send : done) {
            if (send.sent == null) {
                continue; // failed when sent
            }
            if (interrupted) {
                send.sendFailure = new InterruptedException("interrupted while waiting for the dead-letter send");
                continue;
            }
            try {
                send.sent.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
                send.sendFailure = e;
            } catch (ExecutionException e) {
                send.sendFailure = e.getCause() != null ? e.getCause() : e;
            } catch (TimeoutException e) {
                send.sendFailure = e;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        for (Pending<K, V> send : done) {
            String coordinates = RecordTexts.coordinates(send.record);
            if (send.sendFailure == null) {
                LOG.warn("Record {} sent to dead-letter topic {} ({} after {} attempt(s)): {}", coordinates,
                        send.topic, send.reason, send.attempts, RecordTexts.describe(send.error, 500));
            } else {
                LOG.error("Could not send record {} to the dead-letter topic; its partition waits and tries again: {}",
                        coordinates, send.sendFailure.toString());
            }
        }
        return done;
    }

    private void addHeaders(Headers headers, ConsumerRecord<K, V> record, Throwable error, String reason,
            int attempts) {
        header(headers, DeadLetterHeaders.ORIGINAL_TOPIC, record.topic());
        header(headers, DeadLetterHeaders.ORIGINAL_PARTITION, Integer.toString(record.partition()));
        header(headers, DeadLetterHeaders.ORIGINAL_OFFSET, Long.toString(record.offset()));
        header(headers, DeadLetterHeaders.ORIGINAL_TIMESTAMP, Long.toString(record.timestamp()));
        String group = groupId.get();
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
    }

    private static void header(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
