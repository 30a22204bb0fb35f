package org.idempotency.kafka;

import java.time.Duration;
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
import org.idempotency.kafka.internal.Interrupts;
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
 * again) and the exception is rethrown unchanged; an interrupt (an {@link InterruptedException}, Kafka's
 * {@code InterruptException}) always releases the key, whatever the engine's {@code permanentFailure} says.
 * Whatever happens, the claim is finished before {@code handle} returns.
 *
 * <pre>{@code
 * IdempotentRecordHandler<String, byte[]> handler = IdempotentRecordHandler
 *         .builder(idempotency, "ship-orders", (ConsumerRecord<String, byte[]> record) -> ship(record))
 *         .messageKey(MessageKeyStrategy.header("message-id"))
 *         .build();
 * }</pre>
 *
 * <p>Work that must complete the claim itself (in its own database transaction, for example) is a
 * {@link ClaimedRecordHandler}: {@link #builder(Idempotency, String, ClaimedRecordHandler)}.
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
    private final @Nullable RecordHandler<K, V> delegate;
    private final @Nullable ClaimedRecordHandler<K, V> claimedDelegate;
    private final MessageKeyStrategy<K, V> messageKey;
    private final RequestHashStrategy<K, V> requestHash;
    private final KeyReusePolicy keyReusePolicy;
    /** A claim made ahead with less lease than this left is made again before its record's work starts. */
    private final Duration minLeaseToStart;

    private IdempotentRecordHandler(Builder<K, V> builder) {
        this.operation = builder.idempotency.operation(builder.operationName);
        this.delegate = builder.delegate;
        this.claimedDelegate = builder.claimedDelegate;
        this.messageKey = builder.messageKey;
        this.requestHash = builder.requestHash;
        this.keyReusePolicy = builder.keyReusePolicy;
        this.minLeaseToStart = builder.idempotency.lease().dividedBy(2);
    }

    /**
     * Starts configuring a handler for plain work: the handler completes the claim after the work returns.
     *
     * <p>With a lambda whose parameter type is not given, the record types are inferred as {@code Object}; the
     * built handler still serves a consumer of any types ({@link Builder#build()}). Give the parameter's type,
     * {@code (ConsumerRecord<String, String> record) -> ...}, to use the key and value as their own types.
     *
     * @param idempotency the engine (its store, lease and retention apply)
     * @param operationName namespaces the message keys: 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}; use one
     *     per consumer group or purpose
     * @param handler the work for one record
     * @param <K> the record key type
     * @param <V> the record value type
     * @return a builder
     */
    public static <K, V> Builder<K, V> builder(Idempotency idempotency, String operationName,
            RecordHandler<K, V> handler) {
        return new Builder<>(idempotency, operationName, Objects.requireNonNull(handler, "handler must not be null"),
                null);
    }

    /**
     * Starts configuring a handler for work that finishes the claim itself (see {@link ClaimedRecordHandler}).
     *
     * @param idempotency the engine (its store, lease and retention apply)
     * @param operationName namespaces the message keys, as for {@link #builder(Idempotency, String, RecordHandler)}
     * @param handler the work for one record, given the record's claim
     * @param <K> the record key type
     * @param <V> the record value type
     * @return a builder
     */
    public static <K, V> Builder<K, V> builder(Idempotency idempotency, String operationName,
            ClaimedRecordHandler<K, V> handler) {
        return new Builder<>(idempotency, operationName, null,
                Objects.requireNonNull(handler, "handler must not be null"));
    }

    /**
     * The operation whose keys this handler claims.
     *
     * @return the operation, named as configured
     */
    public IdempotentOperation<Void> operation() {
        return operation;
    }

    /**
     * Processes one record once.
     *
     * @param record the record
     * @return what was done; every outcome means the record is finished and its offset may be committed
     * @throws IdempotencyInProgressException if the message is being processed elsewhere: retry the record later
     * @throws IdempotencyKeyReusedException if the message key holds a different payload (with
     *     {@link KeyReusePolicy#FAIL})
     * @throws IdempotencyReplayedFailureException if an earlier attempt recorded a permanent failure (only when
     *     the engine is configured with {@code permanentFailure})
     * @throws RecordIdentityException if the record's key or hash cannot be derived
     * @throws IdempotencyStoreException if the store fails (the handler did not run)
     * @throws Exception whatever the handler threw, after the key was released; this includes idempotency
     *     exceptions of the handler's own nested calls ({@link IdempotentConsumerLoop} tells those apart from the
     *     claim's own)
     */
    public RecordOutcome handle(ConsumerRecord<K, V> record) throws Exception {
        return attempt(record, null).outcomeOrThrow();
    }

    /**
     * One attempt at a record, saying which step failed: the claim (the message is held elsewhere, the store
     * failed, the key cannot be used), the handler, or the thread was interrupted. The claim is finished on every
     * path. A batch claim made ahead ({@link #claimAll}) is used only if its lease is not lost and at least half
     * of it is left; otherwise it is made again first.
     *
     * @param claim the record's batch claim, or {@code null} to claim it now
     */
    Attempt attempt(ConsumerRecord<K, V> record, @Nullable Claim claim) {
        return attempt(record, claim, null);
    }

    /**
     * One attempt, as {@link #attempt(ConsumerRecord, Claim)}; with {@code deferred}, a record the plain handler
     * processed is not completed here: its open execution comes back in {@link Attempt#deferred}, to be completed
     * with the others of its batch, and a record whose key waits in {@code deferred} has them completed first.
     */
    Attempt attempt(ConsumerRecord<K, V> record, @Nullable Claim claim,
            @Nullable DeferredCompletions<K, V> deferred) {
        Execution<Void> execution;
        try {
            execution = begin(record, claim, deferred);
        } catch (IdempotencyKeyReusedException e) {
            return keyReused(record, e);
        } catch (IdempotencyResultNotKeptException | IdempotencyCodecException e) {
            return completedElsewhere(record);
        } catch (InvalidIdempotencyKeyException e) {
            return Attempt.claimFailed(invalidKey(record, e));
        } catch (RuntimeException e) { // in progress, store fault, recorded failure, no identity
            return Interrupts.isInterrupt(e) ? Attempt.interrupted(e) : Attempt.claimFailed(e);
        }
        Attempt attempt = null;
        try {
            attempt = run(record, execution, deferred != null);
            return attempt;
        } finally {
            if (attempt == null || attempt.deferred == null) {
                execution.close(); // releases the key if nothing above finished it
            }
        }
    }

    /** Begins a record's execution at its turn; completes the deferred records first if one holds its key. */
    private Execution<Void> beginNow(Identity identity, @Nullable DeferredCompletions<K, V> deferred) {
        if (deferred != null && deferred.holds(identity.key())) {
            throw new DeferredKeyException();
        }
        return operation.begin(identity.key(), identity.hash());
    }

    private Execution<Void> begin(ConsumerRecord<K, V> record, @Nullable Claim claim,
            @Nullable DeferredCompletions<K, V> deferred) {
        if (claim == null) {
            Identity identity = identify(record);
            return beginNow(identity, deferred);
        }
        if (claim.failure != null) {
            throw claim.failure;
        }
        Identity identity = Objects.requireNonNull(claim.identity);
        BeginOutcome<Void> outcome = claim.take();
        if (outcome == null) { // a second delivery within the batch, begun at its turn
            return beginNow(identity, deferred);
        }
        Execution<Void> execution = outcome.execution(); // or the key's failure, thrown
        if (execution.isOwner() && !execution.isUnprotected()
                && (execution.isLeaseLost() || execution.leaseRemaining().compareTo(minLeaseToStart) < 0)) {
            // claimed ahead, and its lease ran low or out before the record was reached: never run work on such
            // a claim (another member may own the key by now); claim it again
            LOG.debug("The batch claim of record {} (key '{}') has {} ms of its lease left{}; claiming it again",
                    RecordTexts.coordinates(record), IdempotencyException.safeKey(identity.key()),
                    execution.leaseRemaining().toMillis(), execution.isLeaseLost() ? " and is lost" : "");
            execution.close();
            return beginNow(identity, deferred);
        }
        return execution;
    }

    /**
     * Thrown when a record's message key waits in the deferred completions: the record's claim would meet the
     * earlier record's own claim. The loop completes the deferred records and tries the record again.
     */
    static final class DeferredKeyException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DeferredKeyException() {
            super("an earlier record of the same message key waits for its completion", null, false, false);
        }
    }

    private Attempt run(ConsumerRecord<K, V> record, Execution<Void> execution, boolean defer) {
        if (execution.isReplay()) {
            LOG.debug("Duplicate delivery of record {} (key '{}'); already processed", RecordTexts.coordinates(record),
                    IdempotencyException.safeKey(execution.key()));
            return Attempt.finished(RecordOutcome.DUPLICATE);
        }
        if (claimedDelegate != null) {
            return runClaimed(record, execution, claimedDelegate);
        }
        try {
            Objects.requireNonNull(delegate).handle(record);
        } catch (Throwable error) {
            if (Interrupts.isInterrupt(error)) {
                Interrupts.runUninterrupted(execution::release); // an interrupt is never a permanent failure
                return Attempt.interrupted(error);
            }
            execution.abandon(error);
            return Attempt.handlerFailed(error);
        }
        if (defer) {
            return Attempt.processedDeferred(execution);
        }
        execution.complete(null);
        return Attempt.finished(RecordOutcome.PROCESSED);
    }

    private static <K, V> Attempt runClaimed(ConsumerRecord<K, V> record, Execution<Void> execution,
            ClaimedRecordHandler<K, V> handler) {
        try {
            handler.handle(record, execution);
        } catch (Throwable error) {
            if (Interrupts.isInterrupt(error)) {
                Interrupts.runUninterrupted(execution::close);
                return Attempt.interrupted(error);
            }
            if (error instanceof IdempotencyException own && execution.storedKey().equals(own.key())) {
                return Attempt.claimFailed(own); // the claim itself could not be completed
            }
            return Attempt.handlerFailed(error);
        }
        return Attempt.finished(RecordOutcome.PROCESSED);
    }

    private Attempt keyReused(ConsumerRecord<K, V> record, IdempotencyKeyReusedException e) {
        if (keyReusePolicy == KeyReusePolicy.FAIL) {
            return Attempt.claimFailed(e);
        }
        LOG.warn("Record {} reuses message key '{}' of a message with a different payload (the stored record is {});"
                + " skipped as configured", RecordTexts.coordinates(record), IdempotencyException.safeKey(e.key()),
                e.existingStatus());
        return Attempt.finished(RecordOutcome.SKIPPED_KEY_REUSED);
    }

    private static Attempt completedElsewhere(ConsumerRecord<?, ?> record) {
        // the message's record is completed; only its (unused) result cannot be replayed
        LOG.debug("Duplicate delivery of record {}; already processed", RecordTexts.coordinates(record));
        return Attempt.finished(RecordOutcome.DUPLICATE);
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

    /**
     * What one attempt at a record came to. The step that failed decides what the loop does: a claim held
     * elsewhere waits, a handler failure is retried by policy, an interrupt stops the loop.
     */
    static final class Attempt {

        enum Kind {
            /** The record is finished: {@link #outcome} says how. */
            FINISHED,
            /** Claiming the message failed (held elsewhere, store fault, unusable key, recorded failure). */
            CLAIM_FAILED,
            /** The handler ran and threw; its claim was released (or its failure recorded). */
            HANDLER_FAILED,
            /** The thread was interrupted; the claim was released. */
            INTERRUPTED
        }

        final Kind kind;
        final @Nullable RecordOutcome outcome;
        final @Nullable Throwable error;
        /** The open execution of a record processed with its completion deferred; else {@code null}. */
        final @Nullable Execution<Void> deferred;

        private Attempt(Kind kind, @Nullable RecordOutcome outcome, @Nullable Throwable error,
                @Nullable Execution<Void> deferred) {
            this.kind = kind;
            this.outcome = outcome;
            this.error = error;
            this.deferred = deferred;
        }

        private Attempt(Kind kind, @Nullable RecordOutcome outcome, @Nullable Throwable error) {
            this(kind, outcome, error, null);
        }

        static Attempt finished(RecordOutcome outcome) {
            return new Attempt(Kind.FINISHED, outcome, null);
        }

        /** The handler ran; the execution is still open, to be completed with others. */
        static Attempt processedDeferred(Execution<Void> execution) {
            return new Attempt(Kind.FINISHED, RecordOutcome.PROCESSED, null, execution);
        }

        static Attempt claimFailed(RuntimeException error) {
            return new Attempt(Kind.CLAIM_FAILED, null, error);
        }

        static Attempt handlerFailed(Throwable error) {
            return new Attempt(Kind.HANDLER_FAILED, null, error);
        }

        static Attempt interrupted(Throwable error) {
            return new Attempt(Kind.INTERRUPTED, null, error);
        }

        /** Whether the handler ran in this attempt. */
        boolean handlerRan() {
            return kind == Kind.HANDLER_FAILED || outcome == RecordOutcome.PROCESSED;
        }

        /** The outcome, or the error thrown as it is (as {@link #handle} documents). */
        RecordOutcome outcomeOrThrow() throws Exception {
            if (outcome != null) {
                return outcome;
            }
            Throwable thrown = Objects.requireNonNull(error);
            if (thrown instanceof Error fatal) {
                throw fatal;
            }
            throw (Exception) thrown; // a handler throws Exception or Error; claims throw RuntimeException
        }
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

        /** How many records the batch has. */
        int size() {
            return claims.length;
        }

        /** The claim of the record at {@code index} in the batch. */
        Claim get(int index) {
            return claims[index];
        }

        /**
         * Releases the unused claims of the records from {@code from} (inclusive) to {@code to} (exclusive); one
         * that fails to be released does not keep the others.
         */
        void discard(int from, int to) {
            for (int i = Math.max(0, from); i < Math.min(to, claims.length); i++) {
                try {
                    claims[i].discard();
                } catch (RuntimeException e) {
                    LOG.warn("Releasing an unused batch claim failed; its lease runs out instead", e);
                }
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
        private final @Nullable RecordHandler<K, V> delegate;
        private final @Nullable ClaimedRecordHandler<K, V> claimedDelegate;
        private MessageKeyStrategy<K, V> messageKey = MessageKeyStrategy.topicPartitionOffset();
        private RequestHashStrategy<K, V> requestHash = RequestHashStrategy.payloadSha256();
        private KeyReusePolicy keyReusePolicy = KeyReusePolicy.FAIL;

        private Builder(Idempotency idempotency, String operationName, @Nullable RecordHandler<K, V> delegate,
                @Nullable ClaimedRecordHandler<K, V> claimedDelegate) {
            this.idempotency = Objects.requireNonNull(idempotency, "idempotency must not be null");
            this.operationName = IdempotencyKeys.validateOperation(operationName);
            this.delegate = delegate;
            this.claimedDelegate = claimedDelegate;
        }

        /**
         * How a record's message key is derived (default: {@link MessageKeyStrategy#topicPartitionOffset()}).
         *
         * @param messageKey the strategy
         * @return this builder
         */
        public Builder<K, V> messageKey(MessageKeyStrategy<K, V> messageKey) {
            this.messageKey = Objects.requireNonNull(messageKey, "messageKey must not be null");
            return this;
        }

        /**
         * How a record's request hash is derived (default: {@link RequestHashStrategy#payloadSha256()}).
         *
         * @param requestHash the strategy
         * @return this builder
         */
        public Builder<K, V> requestHash(RequestHashStrategy<K, V> requestHash) {
            this.requestHash = Objects.requireNonNull(requestHash, "requestHash must not be null");
            return this;
        }

        /**
         * What to do with a message key reused with a different payload (default: {@link KeyReusePolicy#FAIL}).
         *
         * @param keyReusePolicy the policy
         * @return this builder
         */
        public Builder<K, V> onKeyReuse(KeyReusePolicy keyReusePolicy) {
            this.keyReusePolicy = Objects.requireNonNull(keyReusePolicy, "keyReusePolicy must not be null");
            return this;
        }

        /**
         * Builds the handler, typed for the records it will see: {@code RK} and {@code RV} are inferred from where
         * the handler goes (a variable, {@link IdempotentConsumerLoop#builder}) and may be subtypes of the
         * builder's types, because a record is only read. So a handler whose lambda was inferred as
         * {@code <Object, Object>} serves a {@code Consumer<String, String>}:
         *
         * <pre>{@code
         * IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
         *         .builder(idempotency, "audit", record -> audit.log(record.offset()))
         *         .build();
         * }</pre>
         *
         * @param <RK> the key type of the records handled
         * @param <RV> the value type of the records handled
         * @return the handler
         */
        @SuppressWarnings("unchecked") // sound: the handler and its strategies only read records of subtypes
        public <RK extends K, RV extends V> IdempotentRecordHandler<RK, RV> build() {
            return (IdempotentRecordHandler<RK, RV>) new IdempotentRecordHandler<>(this);
        }
    }
}
