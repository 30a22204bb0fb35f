package org.idempotency.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.idempotency.api.IdempotencyException;
import org.idempotency.api.spi.BatchCompletingIdempotencyStore;
import org.idempotency.api.spi.CompleteRequest;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.core.IdempotencyObserver.StoreCallObservation;
import org.idempotency.core.IdempotencyObserver.StoreCallResult;
import org.jspecify.annotations.Nullable;

/**
 * Owned executions completed together: with a store that offers {@link BatchCompletingIdempotencyStore}, every
 * result is stored in one {@code completeAll} call (one round trip where the store allows it); otherwise each
 * execution is completed in turn. Obtain one from {@link Idempotency#completionBatch()}, add the executions with
 * their results, and call {@link #complete()} once.
 *
 * <pre>{@code
 * CompletionBatch batch = idempotency.completionBatch();
 * for (Execution<Void> execution : owned) {
 *     handle(execution.key());
 *     batch.add(execution, null);
 * }
 * List<Boolean> stored = batch.complete(); // one store call
 * }</pre>
 *
 * <p>Each execution ends exactly as {@link Execution#complete(Object, int)} would end it: the store's fencing is
 * checked per record, an execution that no longer owns its record answers {@code false} and is reported as
 * {@code LEASE_LOST}, a result that cannot be kept closes the record without it ({@code RESULT_NOT_KEPT}), a
 * store fault answers {@code false} for every execution of the batch and is reported as {@code STORE_ERROR} for
 * each (some records may then have been completed; their next begin replays them, the others run again), and the
 * listeners and the observer see the same events. An execution is finished (and its lease no longer renewed) when
 * {@link #complete()} runs, not when it is added: call it soon after the work.
 *
 * <p>Not thread-safe: one caller fills and completes a batch. The executions in it may come from any operations
 * of the batch's engine.
 */
public final class CompletionBatch {

    private final Idempotency engine;
    private final List<Pending<?>> pending = new ArrayList<>();
    private final DistinctKeys keys = new DistinctKeys(16);
    private boolean completed;

    CompletionBatch(Idempotency engine) {
        this.engine = engine;
    }

    /**
     * Adds an owned execution and its result.
     *
     * @param execution an owned execution of this batch's engine, not finished
     * @param result the work's result; may be {@code null}
     * @param <T> the result type
     * @return this batch
     * @throws IllegalArgumentException if the execution belongs to another engine, or its key is in the batch
     *     already
     * @throws IllegalStateException if the execution is a replay, or the batch was completed
     */
    public <T> CompletionBatch add(Execution<T> execution, @Nullable T result) {
        return add(execution, result, 0);
    }

    /**
     * Adds an owned execution, its result and a status code (such as an HTTP status) to store with it.
     *
     * @param execution an owned execution of this batch's engine, not finished
     * @param result the work's result; may be {@code null}
     * @param statusCode the status code to store, 0 for none
     * @param <T> the result type
     * @return this batch
     * @throws IllegalArgumentException if the execution belongs to another engine, its key is in the batch
     *     already, or the status code is negative
     * @throws IllegalStateException if the execution is a replay, or the batch was completed
     */
    public <T> CompletionBatch add(Execution<T> execution, @Nullable T result, int statusCode) {
        Objects.requireNonNull(execution, "execution must not be null");
        if (completed) {
            throw new IllegalStateException("This completion batch was completed; start another with"
                    + " Idempotency.completionBatch()");
        }
        if (execution.operation().engine() != engine) {
            throw new IllegalArgumentException("The execution of key '" + IdempotencyException.safeKey(
                    execution.storedKey()) + "' belongs to another Idempotency engine than this batch");
        }
        if (execution.isReplay()) {
            throw new IllegalStateException("Cannot complete a replayed execution (key '"
                    + IdempotencyException.safeKey(execution.storedKey()) + "')");
        }
        if (statusCode < 0) {
            throw new IllegalArgumentException("statusCode must be 0 (none) or positive, was " + statusCode);
        }
        if (!keys.add(execution.storedKey())) {
            throw new IllegalArgumentException("A completion batch needs distinct keys; '"
                    + IdempotencyException.safeKey(execution.storedKey()) + "' was added twice");
        }
        pending.add(new Pending<>(execution, result, statusCode));
        return this;
    }

    /**
     * How many executions were added.
     *
     * @return the batch's size
     */
    public int size() {
        return pending.size();
    }

    /**
     * Completes every execution added, in one store call where the store allows it.
     *
     * @return one outcome per execution, in the order they were added: as {@link Execution#complete(Object)}
     *     answers, {@code true} if its record was completed, {@code false} if it no longer owned it, the store
     *     failed, or it is unprotected
     * @throws IllegalStateException if the batch was completed already, or an execution in it was finished since
     *     it was added (then nothing is done: the other executions stay open)
     * @throws Error an {@link Error} thrown while encoding a result, after every record was stored (as
     *     {@link Execution#complete(Object)} does)
     */
    public List<Boolean> complete() {
        if (completed) {
            throw new IllegalStateException("This completion batch was completed already");
        }
        for (Pending<?> each : pending) {
            if (each.execution.isFinished()) {
                throw new IllegalStateException("Execution for key '" + IdempotencyException.safeKey(
                        each.execution.storedKey()) + "' was finished after it was added to this completion batch;"
                        + " nothing in the batch was completed");
            }
        }
        completed = true;
        if (!(engine.store instanceof BatchCompletingIdempotencyStore batchStore)) {
            List<Boolean> outcomes = new ArrayList<>(pending.size());
            for (Pending<?> each : pending) {
                outcomes.add(each.completeAlone());
            }
            return outcomes;
        }
        int size = pending.size();
        List<Boolean> outcomes = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            outcomes.add(Boolean.FALSE);
        }
        List<CompleteRequest> requests = new ArrayList<>(size);
        int[] sentIndexes = new int[size]; // the indexes of the executions sent, in order
        for (int i = 0; i < size; i++) {
            CompleteRequest request = pending.get(i).prepare();
            if (request != null) {
                sentIndexes[requests.size()] = i;
                requests.add(request);
            }
        }
        int sending = requests.size();
        if (requests.isEmpty()) {
            return outcomes;
        }
        List<Boolean> stored;
        StoreCallObservation call = Observers.call(engine.observer, StoreCall.COMPLETE_ALL, engine.store);
        long sent = System.nanoTime();
        try {
            stored = batchStore.completeAll(requests, engine.retention);
            if (stored.size() != requests.size()) {
                throw new IllegalStateException("completeAll returned " + stored.size() + " outcomes for "
                        + requests.size() + " records");
            }
            Observers.end(call, StoreCallResult.DONE, requests.size());
        } catch (RuntimeException e) {
            Observers.error(call, e);
            for (int j = 0; j < sending; j++) {
                pending.get(sentIndexes[j]).execution.batchStoreFailed(e);
            }
            return outcomes;
        } catch (Error e) {
            Observers.error(call, e);
            for (int j = 0; j < sending; j++) {
                pending.get(sentIndexes[j]).execution.batchError(e);
            }
            throw e;
        }
        Error encodingError = null;
        for (int j = 0; j < sending; j++) {
            int i = sentIndexes[j];
            Execution<?> execution = pending.get(i).execution;
            outcomes.set(i, execution.batchCompleted(Boolean.TRUE.equals(stored.get(j)), sent));
            if (encodingError == null) {
                encodingError = execution.batchEncodingError();
            }
        }
        if (encodingError != null) {
            throw encodingError; // the record is closed without the result; the caller still learns what happened
        }
        return outcomes;
    }

    /** One execution and its result, typed together. */
    private record Pending<T>(Execution<T> execution, @Nullable T result, int statusCode) {

        @Nullable CompleteRequest prepare() {
            return execution.prepareBatchCompletion(result, statusCode);
        }

        boolean completeAlone() {
            return execution.complete(result, statusCode);
        }
    }
}
