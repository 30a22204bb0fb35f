package org.idempotency.core;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyCodecException;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.IdempotencyInProgressException;
import org.idempotency.api.IdempotencyKeyReusedException;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyReplayedFailureException;
import org.idempotency.api.IdempotencyResultNotKeptException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.StoredResult;
import org.idempotency.api.TypeRef;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.BatchAcquiringIdempotencyStore;
import org.idempotency.api.spi.ForgettingIdempotencyStore;
import org.idempotency.core.IdempotencyObserver.ExecutionObservation;
import org.idempotency.core.IdempotencyObserver.OperationObserver;
import org.idempotency.core.IdempotencyObserver.Scope;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;

/**
 * One idempotent operation with a declared result type: its keys live in their own namespace (the operation
 * name) and its replays decode into {@code T}, generic arguments included. Obtain it from
 * {@link Idempotency#operation}; create it once and share it.
 *
 * <p>For each key: the first call runs the work and stores its result; a repeat with the same request hash
 * returns the stored result without running the work; a repeat with a different hash is refused with
 * {@link IdempotencyKeyReusedException}; a repeat while the first still runs gets
 * {@link IdempotencyInProgressException} (or waits, if configured). A {@code null} request hash skips the
 * hash check.
 *
 * <p>Thread-safe.
 *
 * @param <T> the result type
 */
public final class IdempotentOperation<T> {

    private final Idempotency engine;
    private final String name;
    private final TypeRef<T> type;
    final ResultCodec.Typed<T> codec;
    final OperationObserver observer;
    private volatile byte @Nullable [] encodedNull;

    IdempotentOperation(Idempotency engine, String name, TypeRef<T> type) {
        this(engine, name, type, engine.codec.forType(type));
    }

    IdempotentOperation(Idempotency engine, String name, TypeRef<T> type, ResultCodec.Typed<T> codec) {
        this.engine = engine;
        this.name = name;
        this.type = type;
        this.codec = codec;
        this.observer = Observers.operation(engine.observer, name, engine.store);
    }

    /** The encoding of a {@code null} result, computed once: work without a result is common (message handlers). */
    byte[] encodedNull() {
        byte[] bytes = encodedNull;
        if (bytes == null) {
            bytes = codec.encode(null);
            encodedNull = bytes;
        }
        return bytes;
    }

    /**
     * The operation name, which namespaces its keys.
     *
     * @return the operation's name
     */
    public String name() {
        return name;
    }

    /**
     * The declared result type.
     *
     * @return the type that replays decode into
     */
    public TypeRef<T> type() {
        return type;
    }

    /**
     * The engine this operation runs on.
     *
     * @return the engine that created this operation
     */
    public Idempotency engine() {
        return engine;
    }

    /**
     * Runs {@code work} once for {@code key}, or returns the result stored by the run that did.
     *
     * @param key the caller's idempotency key (validated: not blank, at most 255 UTF-8 bytes, no control
     *     characters)
     * @param requestHash a hash of the request (see {@link RequestHashes}, {@link JsonFingerprint}), or
     *     {@code null} to skip the reuse check
     * @param work the work; its exception is rethrown unchanged after the key is released (or, for permanent
     *     failures, recorded)
     * @return the work's result, or the stored result on a replay
     * @throws IdempotencyKeyReusedException if the key holds a different request
     * @throws IdempotencyInProgressException if the key is held by a running execution
     * @throws IdempotencyReplayedFailureException if an earlier run failed permanently
     * @throws IdempotencyResultNotKeptException if the earlier run's result was not kept
     * @throws IdempotencyStoreException if the store fails while acquiring (unless configured to fail open)
     */
    public T execute(String key, @Nullable String requestHash, Supplier<? extends T> work) {
        Objects.requireNonNull(work, "work must not be null");
        Execution<T> execution = begin(key, requestHash);
        if (execution.isReplay()) {
            return execution.replayedResult();
        }
        T result;
        Scope scope = Observers.scope(execution.observation());
        try {
            result = work.get();
        } catch (Throwable error) {
            Observers.close(scope);
            execution.abandon(error);
            throw error;
        }
        Observers.close(scope);
        execution.complete(result);
        return result;
    }

    /**
     * Like {@link #execute}, for work that throws checked exceptions: the work's exception is rethrown as is.
     *
     * @param key the caller's idempotency key (validated like {@link #execute}'s)
     * @param requestHash a hash of the request, or {@code null} to skip the reuse check
     * @param work the work; its exception is rethrown as is after the key is released (or, for permanent
     *     failures, recorded)
     * @return the work's result, or the stored result on a replay
     * @throws Exception what the work throws, or one of the exceptions {@link #execute} documents
     */
    public T call(String key, @Nullable String requestHash, Callable<? extends T> work) throws Exception {
        Objects.requireNonNull(work, "work must not be null");
        Execution<T> execution = begin(key, requestHash);
        if (execution.isReplay()) {
            return execution.replayedResult();
        }
        T result;
        Scope scope = Observers.scope(execution.observation());
        try {
            result = work.call();
        } catch (Throwable error) {
            Observers.close(scope);
            execution.abandon(error);
            throw error;
        }
        Observers.close(scope);
        execution.complete(result);
        return result;
    }

    /**
     * Like {@link #execute}, for work without a result: runs it once per key; repeats do nothing.
     *
     * @param key the caller's idempotency key (validated like {@link #execute}'s)
     * @param requestHash a hash of the request, or {@code null} to skip the reuse check
     * @param work the work; its exception is rethrown unchanged after the key is released (or, for permanent
     *     failures, recorded)
     */
    public void run(String key, @Nullable String requestHash, Runnable work) {
        Objects.requireNonNull(work, "work must not be null");
        execute(key, requestHash, () -> {
            work.run();
            return null;
        });
    }

    /**
     * The first half of an execution, for callers that finish it themselves (HTTP filters, message
     * handlers, transactional completion). Either returns a replay, or an owned {@link Execution} whose lease
     * is renewed until it is completed, failed or released.
     *
     * @param key the caller's idempotency key (validated like {@link #execute}'s)
     * @param requestHash a hash of the request, or {@code null} to skip the reuse check
     * @return the execution: a replay, an owned execution the caller must finish, or an unprotected one if the
     *     store failed and the engine fails open
     * @throws IdempotencyKeyReusedException if the key holds a different request
     * @throws IdempotencyInProgressException if the key is held by a running execution
     * @throws IdempotencyReplayedFailureException if an earlier run failed permanently
     * @throws IdempotencyResultNotKeptException if the earlier run's result was not kept
     * @throws IdempotencyStoreException if the store fails (unless configured to fail open)
     */
    public Execution<T> begin(String key, @Nullable String requestHash) {
        String storedKey = storedKey(key);
        long start = System.nanoTime();
        ExecutionObservation observation = Observers.start(observer);
        Execution<T> cached = fromCache(key, storedKey, requestHash, start, observation);
        if (cached != null) {
            return cached;
        }
        long deadline = 0;
        long pollNanos = 0;
        IdempotencyRecord holder = null;
        while (true) {
            AcquireResult acquired = null;
            long sent = System.nanoTime();
            try {
                acquired = acquire(observation, storedKey, requestHash);
            } catch (Error e) {
                Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, e);
                throw e;
            } catch (RuntimeException e) {
                if (holder == null) {
                    return storeFailed(key, storedKey, start, e, observation);
                }
                // the store already said a live owner holds the key: a fault now must not run the work beside
                // it, fail open or not; keep waiting, and fail closed if the wait ends on a fault
                IdempotencyStoreException error = storeError(storedKey, e);
                engine.emit(IdempotencyEvent.Type.STORE_ERROR, name, key, 0, start, error);
                if (System.nanoTime() - deadline >= 0) {
                    Idempotency.LOG.warn("Idempotency store failed while waiting for operation={} key={} held by a"
                            + " running execution; failing closed: {}", name, IdempotencyStoreException.safeKey(key),
                            error.getMessage());
                    Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, error);
                    throw error;
                }
            }
            if (acquired != null) {
                Execution<T> settled = settle(key, storedKey, requestHash, acquired, start, sent, observation,
                        true);
                if (settled != null) {
                    return settled;
                }
                holder = ((AcquireResult.Existing) acquired).record();
            }
            if (engine.inProgressWaitNanos > 0) {
                // the wait's bookkeeping starts only when there is something to wait for
                if (pollNanos == 0) {
                    deadline = start + engine.inProgressWaitNanos;
                    pollNanos = engine.pollIntervalNanos;
                }
                long now = System.nanoTime();
                if (now - deadline < 0 && sleep(Math.min(pollNanos, deadline - now))) {
                    pollNanos = Math.min(pollNanos * 2, engine.pollIntervalNanos * 10);
                    continue;
                }
            }
            throw inProgress(key, storedKey, holder, start, engine.inProgressWaitNanos > 0, observation);
        }
    }

    /** One acquire, observed as a store call of the execution. */
    private AcquireResult acquire(ExecutionObservation observation, String storedKey, @Nullable String requestHash) {
        StoreCallObservation call = Observers.call(observation, StoreCall.ACQUIRE);
        AcquireResult acquired;
        try {
            acquired = engine.store.acquire(storedKey, requestHash, engine.lease);
        } catch (Throwable e) {
            Observers.error(call, e);
            throw e;
        }
        Observers.end(call, acquired instanceof AcquireResult.Acquired owned
                ? owned.takeover() ? StoreCallResult.TAKEN_OVER : StoreCallResult.ACQUIRED
                : StoreCallResult.EXISTING, 1);
        return acquired;
    }

    /**
     * Begins many executions at once, for consumers that claim a whole batch of messages: with a store that
     * offers {@link BatchAcquiringIdempotencyStore}, every key is acquired in one {@code acquireAll} call
     * (one round trip where the store allows it); otherwise each key is acquired in turn. Each outcome is what
     * {@link #begin} would have returned or thrown for that key, with one difference: a key held by a running
     * execution is reported at once ({@link IdempotencyInProgressException}), without the configured wait.
     *
     * <p>Owned executions are renewed in the background like those of {@link #begin}; the caller must finish
     * (or {@link Execution#close() close}) every one of them, including those it decides not to run.
     *
     * @param requests the keys and request hashes; the keys must be distinct; may be empty
     * @return one outcome per request, in request order
     * @throws IllegalArgumentException if a key appears twice
     */
    public List<BeginOutcome<T>> beginAll(List<Request> requests) {
        Objects.requireNonNull(requests, "requests must not be null");
        long start = System.nanoTime();
        int size = requests.size();
        List<BeginOutcome<T>> outcomes = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            outcomes.add(null); // set below, one per request
        }
        String repeated = DistinctKeys.firstRepeated(requests, Request::key); // before anything is observed
        if (repeated != null) {
            throw new IllegalArgumentException("beginAll needs distinct keys; '"
                    + IdempotencyException.safeKey(repeated) + "' appears twice");
        }
        int[] valid = new int[size]; // the indexes of the requests sent to the store, in order
        int sending = 0;
        List<AcquireRequest> toAcquire = new ArrayList<>(size);
        List<ExecutionObservation> observations = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            Request request = requests.get(i);
            String storedKey;
            try {
                storedKey = storedKey(request.key());
            } catch (InvalidIdempotencyKeyException e) {
                outcomes.set(i, BeginOutcome.failed(e));
                continue;
            }
            ExecutionObservation observation = Observers.start(observer);
            try {
                Execution<T> cached = fromCache(request.key(), storedKey, request.requestHash(), start, observation);
                if (cached != null) {
                    outcomes.set(i, BeginOutcome.begun(cached));
                    continue;
                }
            } catch (RuntimeException e) {
                outcomes.set(i, BeginOutcome.failed(e));
                continue;
            }
            valid[sending++] = i;
            toAcquire.add(new AcquireRequest(storedKey, request.requestHash()));
            observations.add(observation);
        }
        if (toAcquire.isEmpty()) {
            return outcomes;
        }
        List<AcquireResult> results = null;
        RuntimeException batchFault = null;
        long sent = System.nanoTime();
        if (engine.store instanceof BatchAcquiringIdempotencyStore batchStore) {
            StoreCallObservation call = Observers.call(engine.observer, StoreCall.ACQUIRE_ALL, engine.store);
            try {
                results = batchStore.acquireAll(toAcquire, engine.lease);
                if (results.size() != toAcquire.size()) {
                    throw new IllegalStateException("acquireAll returned " + results.size() + " outcomes for "
                            + toAcquire.size() + " keys");
                }
                Observers.end(call, StoreCallResult.DONE, toAcquire.size());
            } catch (RuntimeException e) {
                Observers.error(call, e);
                batchFault = e;
            } catch (Error e) {
                Observers.error(call, e);
                for (ExecutionObservation observation : observations) {
                    Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, e);
                }
                throw e;
            }
        }
        for (int j = 0; j < sending; j++) {
            int i = valid[j];
            Request request = requests.get(i);
            String storedKey = toAcquire.get(j).key();
            ExecutionObservation observation = observations.get(j);
            try {
                Execution<T> execution;
                if (batchFault != null) {
                    execution = storeFailed(request.key(), storedKey, start, batchFault, observation);
                } else {
                    execution = results != null
                            ? settleWithoutWaiting(request, storedKey, results.get(j), start, sent, observation)
                            : acquireWithoutWaiting(request, storedKey, start, observation);
                }
                outcomes.set(i, BeginOutcome.begun(execution));
            } catch (RuntimeException e) {
                outcomes.set(i, BeginOutcome.failed(e));
            } catch (Error e) {
                for (int rest = j + 1; rest < sending; rest++) { // the keys this batch will not reach
                    Observers.end(observations.get(rest), IdempotencyEvent.Type.STORE_ERROR, e);
                }
                throw e;
            }
        }
        return outcomes;
    }

    /**
     * Turns the answer of the store into an execution (owned or replayed), throws for a reused key or a
     * recorded failure, and returns {@code null} for a key held by a running execution.
     */
    private @Nullable Execution<T> settle(String key, String storedKey, @Nullable String requestHash,
            AcquireResult acquired, long start, long sent, ExecutionObservation observation, boolean fromStore) {
        if (acquired instanceof AcquireResult.Acquired owned) {
            return Execution.owned(this, key, storedKey, requestHash, owned.fencingToken(), owned.takeover(), start,
                    sent, observation);
        }
        IdempotencyRecord record = ((AcquireResult.Existing) acquired).record();
        ReplayCache cache = engine.replayCache;
        if (fromStore && cache != null) {
            cache.putRead(record); // finished records only: they do not change until they expire
        }
        if (!record.matchesRequest(requestHash)) {
            engine.emit(IdempotencyEvent.Type.KEY_REUSED, name, key, 0, start, null);
            Observers.end(observation, IdempotencyEvent.Type.KEY_REUSED, null);
            Idempotency.LOG.debug("Key reused with a different request: operation={} key={}", name, key);
            throw new IdempotencyKeyReusedException(storedKey, record.status());
        }
        switch (record.status()) {
            case COMPLETED:
                return replay(key, storedKey, record.result(), start, observation);
            case FAILED:
                engine.emit(IdempotencyEvent.Type.FAILURE_REPLAYED, name, key, 0, start, null);
                Observers.end(observation, IdempotencyEvent.Type.FAILURE_REPLAYED, null);
                Idempotency.LOG.debug("Replaying a recorded failure: operation={} key={}", name, key);
                throw new IdempotencyReplayedFailureException(storedKey, record.failure());
            default:
                return null;
        }
    }

    /** The in-progress error; {@code waited} says whether the caller waited (a wait is configured). */
    private IdempotencyInProgressException inProgress(String key, String storedKey, IdempotencyRecord record,
            long start, boolean waited, ExecutionObservation observation) {
        engine.emit(IdempotencyEvent.Type.IN_PROGRESS, name, key, 0, start, null);
        Observers.end(observation, IdempotencyEvent.Type.IN_PROGRESS, null);
        Idempotency.LOG.debug("Key in progress elsewhere: operation={} key={}", name, key);
        return new IdempotencyInProgressException(storedKey, retryAfter(record),
                waited ? Duration.ofNanos(Math.max(0, System.nanoTime() - start)) : Duration.ZERO);
    }

    private Execution<T> acquireWithoutWaiting(Request request, String storedKey, long start,
            ExecutionObservation observation) {
        AcquireResult acquired;
        long sent = System.nanoTime();
        try {
            acquired = acquire(observation, storedKey, request.requestHash());
        } catch (Error e) {
            Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, e);
            throw e;
        } catch (RuntimeException e) {
            return storeFailed(request.key(), storedKey, start, e, observation);
        }
        return settleWithoutWaiting(request, storedKey, acquired, start, sent, observation);
    }

    private Execution<T> settleWithoutWaiting(Request request, String storedKey, AcquireResult acquired,
            long start, long sent, ExecutionObservation observation) {
        Execution<T> settled = settle(request.key(), storedKey, request.requestHash(), acquired, start, sent,
                observation, true);
        if (settled == null) {
            throw inProgress(request.key(), storedKey, ((AcquireResult.Existing) acquired).record(), start, false,
                    observation);
        }
        return settled;
    }

    /**
     * Answers a begin from this node's replay cache, if it holds the key: a replay, or the exception a replay of
     * the record throws (a reused key, a recorded failure, a result not kept), exactly as from the store.
     *
     * @return the replay, or {@code null} if the cache is off or does not hold the key
     */
    private @Nullable Execution<T> fromCache(String key, String storedKey, @Nullable String requestHash, long start,
            ExecutionObservation observation) {
        ReplayCache cache = engine.replayCache;
        if (cache == null) {
            return null;
        }
        IdempotencyRecord record = cache.get(storedKey);
        if (record == null) {
            return null;
        }
        return settle(key, storedKey, requestHash, new AcquireResult.Existing(record), start, start, observation,
                false);
    }

    /**
     * Forgets a key, for administrators: removes its record from the store whatever its state (in progress,
     * completed or failed), so that the next begin of the key runs the work again, and drops it from this node's
     * replay cache. The removal is conditional on the record's fencing token as read first: a record that changed
     * meanwhile (taken over, re-created) is left alone and reported as {@link ForgetOutcome.Result#CHANGED}. A
     * running owner of a removed in-progress record can no longer complete it (its token is stale).
     *
     * <p>Other nodes' replay caches are not reached: each may still replay the key until its entry reaches the
     * maximum age ({@link Idempotency.Builder#replayCacheMaxAge}); the outcome says how long, and an INFO line
     * reports it.
     *
     * @param key the caller's key
     * @return what was removed, and how long other nodes may still replay it
     * @throws UnsupportedOperationException if the store cannot forget keys (it does not implement
     *     {@link ForgettingIdempotencyStore})
     * @throws org.idempotency.api.InvalidIdempotencyKeyException if the key breaks a key rule
     * @throws IdempotencyStoreException if the store fails (this node's cache entry is dropped all the same)
     */
    public ForgetOutcome forget(String key) {
        String storedKey = storedKey(key);
        if (!(engine.store instanceof ForgettingIdempotencyStore forgetting)) {
            throw new UnsupportedOperationException("The idempotency store " + engine.store.getClass().getName()
                    + " cannot forget keys: it does not implement ForgettingIdempotencyStore (key '"
                    + IdempotencyException.safeKey(storedKey) + "')");
        }
        ReplayCache cache = engine.replayCache;
        if (cache != null) {
            cache.invalidate(storedKey);
        }
        Duration otherNodes = engine.replayCacheMaxAge();
        Optional<IdempotencyRecord> found = find(key);
        if (found.isEmpty()) {
            Idempotency.LOG.info("Forget: operation={} key={} has no record in the store; other nodes' replay caches"
                    + " may still replay it for up to {}", name, key, otherNodes);
            return new ForgetOutcome(ForgetOutcome.Result.ABSENT, storedKey, null, otherNodes);
        }
        IdempotencyRecord record = found.get();
        StoreCallObservation call = Observers.call(observer, StoreCall.FORGET);
        boolean removed;
        try {
            removed = forgetting.forget(storedKey, record.fencingToken());
        } catch (IdempotencyStoreException e) {
            Observers.error(call, e);
            throw e;
        } catch (RuntimeException e) {
            IdempotencyStoreException error =
                    new IdempotencyStoreException("The idempotency store failed to forget a record", storedKey, e);
            Observers.error(call, error);
            throw error;
        } catch (Error e) {
            Observers.error(call, e);
            throw e;
        } finally {
            if (cache != null) {
                cache.invalidate(storedKey); // a replay racing the forget may have cached it again
            }
        }
        Observers.end(call, Observers.owned(removed), 1);
        if (!removed) {
            Idempotency.LOG.info("Forget: operation={} key={} changed while being forgotten (token {} is no longer"
                    + " current); the newer record was left alone", name, key, record.fencingToken());
            return new ForgetOutcome(ForgetOutcome.Result.CHANGED, storedKey, null, otherNodes);
        }
        Idempotency.LOG.info("Forgot operation={} key={}: its {} record (token {}) was removed from the store; the"
                + " next begin runs the work again; other nodes' replay caches may still replay it for up to {}", name,
                key, record.status(), record.fencingToken(), otherNodes);
        return new ForgetOutcome(ForgetOutcome.Result.REMOVED, storedKey, record.status(), otherNodes);
    }

    /**
     * Reads this operation's record for a key, for inspection.
     *
     * @param key the caller's idempotency key
     * @return the record, or empty if the store holds none for the key
     */
    public Optional<IdempotencyRecord> find(String key) {
        String storedKey = storedKey(key);
        StoreCallObservation call = Observers.call(observer, StoreCall.FIND);
        Optional<IdempotencyRecord> found;
        try {
            found = engine.store.find(storedKey);
        } catch (IdempotencyStoreException e) {
            Observers.error(call, e);
            throw e;
        } catch (RuntimeException e) {
            IdempotencyStoreException error =
                    new IdempotencyStoreException("The idempotency store failed to find a record", storedKey, e);
            Observers.error(call, error);
            throw error;
        } catch (Error e) {
            Observers.error(call, e);
            throw e;
        }
        Observers.end(call, found.isPresent() ? StoreCallResult.FOUND : StoreCallResult.ABSENT, 1);
        return found;
    }

    /**
     * The key under which the store holds this operation's record for {@code key}.
     *
     * @param key the caller's idempotency key (validated)
     * @return the stored key, {@code name:key}
     */
    public String storedKey(String key) {
        return name + ':' + IdempotencyKeys.validate(key);
    }

    private Execution<T> replay(String key, String storedKey, @Nullable StoredResult result, long start,
            ExecutionObservation observation) {
        if (result == null || !result.kept()) {
            engine.emit(IdempotencyEvent.Type.RESULT_NOT_KEPT, name, key, 0, start, null);
            Observers.end(observation, IdempotencyEvent.Type.RESULT_NOT_KEPT, null);
            throw new IdempotencyResultNotKeptException(storedKey);
        }
        T value;
        try {
            value = codec.decode(result.payload());
        } catch (IdempotencyCodecException e) {
            IdempotencyCodecException error = new IdempotencyCodecException("Cannot decode the stored result of"
                    + " operation '" + name + "' as " + type + ": " + e.getMessage(), storedKey,
                    e.getCause() != null ? e.getCause() : e);
            Observers.end(observation, IdempotencyEvent.Type.REPLAYED, error);
            throw error;
        }
        engine.emit(IdempotencyEvent.Type.REPLAYED, name, key, 0, start, null);
        Observers.end(observation, IdempotencyEvent.Type.REPLAYED, null);
        Idempotency.LOG.debug("Replayed a stored result: operation={} key={}", name, key);
        return Execution.replayed(this, key, storedKey, value, start);
    }

    private static IdempotencyStoreException storeError(String storedKey, RuntimeException cause) {
        return cause instanceof IdempotencyStoreException storeError ? storeError
                : new IdempotencyStoreException("The idempotency store failed to acquire a key", storedKey, cause);
    }

    private Execution<T> storeFailed(String key, String storedKey, long start, RuntimeException cause,
            ExecutionObservation observation) {
        IdempotencyStoreException error = storeError(storedKey, cause);
        engine.emit(IdempotencyEvent.Type.STORE_ERROR, name, key, 0, start, error);
        if (!engine.failOpen) {
            Idempotency.LOG.warn("Idempotency store failed to acquire operation={} key={}; failing closed: {}",
                    name, IdempotencyStoreException.safeKey(key), error.getMessage());
            Observers.end(observation, IdempotencyEvent.Type.STORE_ERROR, error);
            throw error;
        }
        Idempotency.LOG.warn("Idempotency store failed to acquire operation={} key={}; running UNPROTECTED as"
                + " configured (fail open): {}", name, IdempotencyStoreException.safeKey(key), error.getMessage());
        engine.emit(IdempotencyEvent.Type.UNPROTECTED, name, key, 0, start, error);
        return Execution.unprotected(this, key, storedKey, observation);
    }

    /**
     * The time left on the owner's lease as this node's clock sees it, clamped to between 1 s (a sooner retry
     * would find the same owner, and HTTP counts whole seconds) and one lease (the clocks may disagree); a lease
     * shorter than 1 s gives 1 s.
     */
    private Duration retryAfter(IdempotencyRecord record) {
        Instant leaseEnd = record.leaseExpiresAt();
        Duration left = leaseEnd == null ? engine.lease : Duration.between(Instant.now(), leaseEnd);
        Duration floor = Duration.ofSeconds(1);
        Duration ceiling = engine.lease.compareTo(floor) < 0 ? floor : engine.lease;
        if (left.compareTo(floor) < 0) {
            return floor;
        }
        return left.compareTo(ceiling) > 0 ? ceiling : left;
    }

    /**
     * One key to begin in {@link #beginAll}: the caller's key (validated like {@link #begin}'s) and its request
     * hash, or {@code null} to skip the reuse check.
     *
     * @param key the caller's idempotency key
     * @param requestHash a hash of the request, or {@code null}
     */
    public record Request(String key, @Nullable String requestHash) {
        /**
         * Checks that the key is present.
         *
         * @param key the caller's idempotency key
         * @param requestHash a hash of the request, or {@code null}
         * @throws NullPointerException if {@code key} is {@code null}
         */
        public Request {
            Objects.requireNonNull(key, "key must not be null");
        }
    }

    private static boolean sleep(long nanos) {
        try {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
