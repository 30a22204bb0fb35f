package org.idempotency.core;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The outcome of one key of {@link IdempotentOperation#beginAll}: either an {@link Execution} (owned, replayed
 * or unprotected, exactly as {@link IdempotentOperation#begin} returns them) or the exception {@code begin}
 * would have thrown for that key (key reused, in progress, recorded failure, invalid key, store fault).
 *
 * <p>Immutable and thread-safe; the execution it holds follows {@link Execution}'s rules.
 *
 * @param <T> the result type
 */
public final class BeginOutcome<T> {

    private final @Nullable Execution<T> execution;
    private final @Nullable RuntimeException failure;

    private BeginOutcome(@Nullable Execution<T> execution, @Nullable RuntimeException failure) {
        this.execution = execution;
        this.failure = failure;
    }

    static <T> BeginOutcome<T> begun(Execution<T> execution) {
        return new BeginOutcome<>(Objects.requireNonNull(execution, "execution"), null);
    }

    static <T> BeginOutcome<T> failed(RuntimeException failure) {
        return new BeginOutcome<>(null, Objects.requireNonNull(failure, "failure"));
    }

    /**
     * Whether an execution was begun (owned, replayed or unprotected); {@code false} if the key failed.
     *
     * @return {@code true} if an execution was begun; {@code false} if the key failed
     */
    public boolean isBegun() {
        return execution != null;
    }

    /**
     * The execution, or the key's failure thrown as it is: the same exceptions {@link IdempotentOperation#begin}
     * documents.
     *
     * @return the execution begun for the key
     */
    public Execution<T> execution() {
        if (execution == null) {
            throw Objects.requireNonNull(failure);
        }
        return execution;
    }

    /**
     * The key's failure, or {@code null} if an execution was begun.
     *
     * @return the exception the key failed with, or {@code null}
     */
    public @Nullable RuntimeException failure() {
        return failure;
    }

    @Override
    public String toString() {
        return execution != null
                ? "BeginOutcome[" + (execution.isReplay() ? "replay" : "owned") + " " + execution.storedKey() + "]"
                : "BeginOutcome[failed: " + failure + "]";
    }
}
