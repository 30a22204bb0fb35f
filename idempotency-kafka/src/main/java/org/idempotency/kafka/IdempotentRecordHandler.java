package org.idempotency.kafka;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.core.BeginOutcome;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.kafka.internal.RecordTexts;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps a {@link RecordHandler} so that each message's effect happens once, however often the message is
 * delivered: a redelivery after a crash or rebalance, a producer retry, a replay.
 *
 * <p>For each record it derives a message key ({@link MessageKeyStrategy}) and a request hash
 * ({@link RequestHashStrategy}, by default SHA-256 of the payload), claims the key in the store under its
 * operation name, runs the handler, and completes the key. A message whose key is already completed is a
 * {@link RecordOutcome#DUPLICATE}: the handler does not run. A key held by a running handler elsewhere (another
 * group member, after a rebalance) throws {@link IdempotencyInProgressException}: the record is not finished
 * and must be retried later, never skipped. If the handler throws, the key is released (so a retry runs it
 * again) and the exception is rethrown unchanged.
 *
 * <pre>{@code
 * IdempotentRecordHandler<String, byte[]> handler = IdempotentRecordHandler
 *         .builder(idempotency, "ship-orders", (ConsumerRecord<String, byte[]> record) -> ship(record))
 *         .messageKey(MessageKeyStrategy.header("message-id"))
 *         .build();
 * }</pre>
 *
 * <p>Use one operation name per consumer group (or per purpose): the name namespaces the keys, so two groups
 * that do different work on one topic do not see each other's messages as duplicates.
 *
 * <p>Thread-safe; {@link IdempotentConsumerLoop} calls it from the consumer's thread.
 *
 * @param <K> the record key type
 * @param <V> the record value type
 */
public final class IdempotentRecordHandler<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentRecordHandler.class);

    private final IdempotentOperation<Void> operation;
    private final RecordHandler<K, V> delegate;
    private final MessageKeyStrategy<K, V> messageKey;
    private final RequestHashStrategy<K, V> requestHash;
    private final KeyReusePolicy keyReusePolicy;

    private IdempotentRecordHandler(Builder<K, V> builder) {
        this.operation = builder.idempotency.operation(builder.operationName);
        this.delegate = builder.delegate;
        this.messageKey = builder.messageKey;
        this.requestHash = builder.requestHash;
        this.keyReusePolicy = builder.keyReusePolicy;
    }

    /**
     * Starts configuring a handler.
     *
     * @param idempotency the engine (its store, lease and retention apply)
     * @param operationName namespaces the message keys: 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}; use one
     *     per consumer group or purpose
     * @param handler the work for one record
     */
    public static <K, V> Builder<K, V> builder(Idempotency idempotency, String operationName,
            RecordHandler<K, V> handler) {
        return new Builder<>(idempotency, operationName, handler);
    }

    /** The operation whose keys this handler claims. */
    public IdempotentOperation<Void> operation() {
        return operation;
    }

    /**
     * Processes one record once.
     *
     * @return what was done; every outcome means the record is finished and its offset may be committed
     * @throws IdempotencyInProgressException if the message is being processed elsewhere: retry the record later
     * @throws IdempotencyKeyReusedException if the message key holds a different payload (with
     *     {@link KeyReusePolicy#FAIL})
     * @throws IdempotencyReplayedFailureException if an earlier attempt recorded a permanent failure (only when
     *     the engine is configured with {@code permanentFailure})
     * @throws RecordIdentityException if the record's key or hash cannot be derived
     * @throws IdempotencyStoreException if the store fails (the handler did not run)
     * @throws Exception whatever the handler threw, after the key was released
     */
    public RecordOutcome handle(ConsumerRecord<K, V> record) throws Exception {
        return handle(record, identify(record));
    }

    private RecordOutcome handle(ConsumerRecord<K, V> record, Identity identity) throws Exception {
        Execution<Void> execution;
        try {
            execution = operation.begin(identity.key(), identity.hash());
        } catch (InvalidIdempotencyKeyException e) {
            throw invalidKey(record, e);
        } catch (IdempotencyKeyReusedException e) {
            return keyReused(record, e);
        } catch (IdempotencyResultNotKeptException | IdempotencyCodecException e) {
            return completedElsewhere(record);
        }
        return run(record, execution);
    }

    /** Claims every record's key at once, in as few store round trips as the store allows. */
    Claims claimAll(List<ConsumerRecord<K, V>> records) {
        int size = records.size();
        Claim[] claims = new Claim[size];
        Map<String, Boolean> keys = new HashMap<>(size * 2);
        List<IdempotentOperation.Request> requests = new ArrayList<>(size);
        int[] requestOf = new int[size];
        for (int i = 0; i < size; i++) {
            ConsumerRecord<K, V> record = records.get(i);
            requestOf[i] = -1;
            Identity identity;
            try {
                identity = identify(record);
            } catch (RecordIdentityException e) {
                claims[i] = new Claim(e);
                continue;
            }
            claims[i] = new Claim(identity);
            if (keys.putIfAbsent(identity.key(), Boolean.TRUE) == null) {
                requestOf[i] = requests.size();
                requests.add(new IdempotentOperation.Request(identity.key(), identity.hash()));
            } // else: a second delivery within the batch, begun on its own after the first
        }
        List<BeginOutcome<Void>> outcomes = operation.beginAll(requests);
        for (int i = 0; i < size; i++) {
            if (requestOf[i] >= 0) {
                claims[i].outcome = outcomes.get(requestOf[i]);
            }
        }
        return new Claims(claims);
    }

    /** Processes a record with the outcome claimed for it by {@link #claimAll}. */
    RecordOutcome handle(ConsumerRecord<K, V> record, Claim claim) throws Exception {
        if (claim.failure != null) {
            throw claim.failure;
        }
        BeginOutcome<Void> outcome = claim.take();
        if (outcome == null) {
            Identity identity = Objects.requireNonNull(claim.identity);
            return handle(record, identity);
        }
        Execution<Void> execution;
        try {
            execution = outcome.execution();
        } catch (InvalidIdempotencyKeyException e) {
            throw invalidKey(record, e);
        } catch (IdempotencyKeyReusedException e) {
            return keyReused(record, e);
        } catch (IdempotencyResultNotKeptException | IdempotencyCodecException e) {
            return completedElsewhere(record);
        }
        return run(record, execution);
    }

    private RecordOutcome run(ConsumerRecord<K, V> record, Execution<Void> execution) throws Exception {
        if (execution.isReplay()) {
            LOG.debug("Duplicate delivery of record {} (key '{}'); already processed", RecordTexts.coordinates(record),
                    IdempotencyException.safeKey(execution.key()));
            return RecordOutcome.DUPLICATE;
        }
        try {
            delegate.handle(record);
        } catch (Throwable error) {
            execution.abandon(error);
            throw error;
        }
        execution.complete(null);
        return RecordOutcome.PROCESSED;
    }

    private RecordOutcome keyReused(ConsumerRecord<K, V> record, IdempotencyKeyReusedException e) {
        if (keyReusePolicy == KeyReusePolicy.FAIL) {
            throw e;
        }
        LOG.warn("Record {} reuses message key '{}' of a message with a different payload (the stored record is {});"
                + " skipped as configured", RecordTexts.coordinates(record), IdempotencyException.safeKey(e.key()),
                e.existingStatus());
        return RecordOutcome.SKIPPED_KEY_REUSED;
    }

    private static RecordOutcome completedElsewhere(ConsumerRecord<?, ?> record) {
        // the message's record is completed; only its (unused) result cannot be replayed
        LOG.debug("Duplicate delivery of record {}; already processed", RecordTexts.coordinates(record));
        return RecordOutcome.DUPLICATE;
    }

    private Identity identify(ConsumerRecord<K, V> record) {
        String key;
        String hash;
        try {
            key = messageKey.messageKey(record);
            hash = requestHash.requestHash(record);
        } catch (RecordIdentityException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new RecordIdentityException("Cannot derive the message key or request hash of record "
                    + RecordTexts.coordinates(record) + ": " + RecordTexts.describe(e, 300), e);
        }
        if (key == null) {
            throw new RecordIdentityException("Record " + RecordTexts.coordinates(record) + " has no message key"
                    + " (the key strategy found none); it cannot be deduplicated", null);
        }
        return new Identity(key, hash); // the key rules are checked when the key is claimed
    }

    private static RecordIdentityException invalidKey(ConsumerRecord<?, ?> record, InvalidIdempotencyKeyException e) {
        return new RecordIdentityException("The message key of record " + RecordTexts.coordinates(record)
                + " breaks a key rule: " + e.getMessage(), e);
    }

    private record Identity(String key, @Nullable String hash) {
    }

    /** The claim of one record of a batch: begun (or failed) up front, or to be begun at its turn. */
    static final class Claim {
        private final @Nullable Identity identity;
        private final @Nullable RecordIdentityException failure;
        private @Nullable BeginOutcome<Void> outcome;

        private Claim(Identity identity) {
            this.identity = identity;
            this.failure = null;
        }

        private Claim(RecordIdentityException failure) {
            this.identity = null;
            this.failure = failure;
        }

        private @Nullable BeginOutcome<Void> take() {
            BeginOutcome<Void> taken = outcome;
            outcome = null;
            return taken;
        }

        /** Releases the key if it was claimed and not used. */
        void discard() {
            BeginOutcome<Void> unused = take();
            if (unused != null && unused.isBegun()) {
                unused.execution().close();
            }
        }
    }

    /**
     * The claims of one batch, in the order of the records given to {@link #claimAll}. Not thread-safe: used by
     * the consumer's thread.
     */
    static final class Claims {
        private final Claim[] claims;

        private Claims(Claim[] claims) {
            this.claims = claims;
        }

        /** The claim of the record at {@code index} in the batch. */
        Claim get(int index) {
            return claims[index];
        }

        /** Releases the unused claims of the records from {@code from} (inclusive) to {@code to} (exclusive). */
        void discard(int from, int to) {
            for (int i = from; i < to; i++) {
                claims[i].discard();
            }
        }

        /** Releases every unused claim. */
        void discardAll() {
            discard(0, claims.length);
        }
    }

    /**
     * Configures an {@link IdempotentRecordHandler}. Each setter validates its argument. Not thread-safe.
     *
     * @param <K> the record key type
     * @param <V> the record value type
     */
    public static final class Builder<K, V> {
        private final Idempotency idempotency;
        private final String operationName;
        private final RecordHandler<K, V> delegate;
        private MessageKeyStrategy<K, V> messageKey = MessageKeyStrategy.topicPartitionOffset();
        private RequestHashStrategy<K, V> requestHash = RequestHashStrategy.payloadSha256();
        private KeyReusePolicy keyReusePolicy = KeyReusePolicy.FAIL;

        private Builder(Idempotency idempotency, String operationName, RecordHandler<K, V> delegate) {
            this.idempotency = Objects.requireNonNull(idempotency, "idempotency must not be null");
            this.operationName = IdempotencyKeys.validateOperation(operationName);
            this.delegate = Objects.requireNonNull(delegate, "handler must not be null");
        }

        /** How a record's message key is derived (default: {@link MessageKeyStrategy#topicPartitionOffset()}). */
        public Builder<K, V> messageKey(MessageKeyStrategy<K, V> messageKey) {
            this.messageKey = Objects.requireNonNull(messageKey, "messageKey must not be null");
            return this;
        }

        /** How a record's request hash is derived (default: {@link RequestHashStrategy#payloadSha256()}). */
        public Builder<K, V> requestHash(RequestHashStrategy<K, V> requestHash) {
            this.requestHash = Objects.requireNonNull(requestHash, "requestHash must not be null");
            return this;
        }

        /** What to do with a message key reused with a different payload (default: {@link KeyReusePolicy#FAIL}). */
        public Builder<K, V> onKeyReuse(KeyReusePolicy keyReusePolicy) {
            this.keyReusePolicy = Objects.requireNonNull(keyReusePolicy, "keyReusePolicy must not be null");
            return this;
        }

        /** Builds the handler. */
        public IdempotentRecordHandler<K, V> build() {
            return new IdempotentRecordHandler<>(this);
        }
    }
}
