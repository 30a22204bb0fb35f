package org.idempotency.spring;

import org.jspecify.annotations.Nullable;

/**
 * Turns what an {@link Idempotent} method's {@link Idempotent#hash hash} expression selected (by default the
 * list of all its arguments) into a request hash. Two calls with the same key must hash alike exactly when they
 * ask for the same thing, on every instance of the application: the default, {@link JacksonRequestHasher},
 * writes the value as JSON and hashes its canonical form.
 *
 * <p>Implementations are thread-safe.
 */
@FunctionalInterface
public interface RequestHasher {

    /**
     * The hash of a selected value.
     *
     * @param value what the expression selected; never {@code null} (a {@code null} selection skips hashing)
     * @return the request hash
     * @throws IllegalArgumentException if the value cannot be hashed
     */
    String hash(Object value);
}
