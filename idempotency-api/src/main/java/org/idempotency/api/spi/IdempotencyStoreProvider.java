package org.idempotency.api.spi;

import org.idempotency.api.IdempotencyConfigurationException;

/**
 * Builds a store from string settings, for discovery through {@link java.util.ServiceLoader}: register the
 * implementation in {@code META-INF/services/org.idempotency.api.spi.IdempotencyStoreProvider} and with
 * {@code provides} in {@code module-info.java}. The core selects a provider by the {@code idempotency.store}
 * setting.
 *
 * <p>Discovery is a convenience; building a store explicitly with its builder is the recommended path.
 * Implementations have a public no-argument constructor and are thread-safe.
 */
public interface IdempotencyStoreProvider {

    /**
     * The provider's name, as given in {@code idempotency.store}: lower case, such as {@code memory}.
     *
     * @return the name
     */
    String name();

    /**
     * Builds a store from settings. Settings belonging to this provider start with
     * {@code idempotency.<name>.}; unknown ones are reported, not ignored.
     *
     * @param settings all settings; this provider reads its own
     * @return a new store, which the caller owns (and closes, if it is {@link AutoCloseable})
     * @throws IdempotencyConfigurationException for missing or malformed settings, naming the setting
     */
    IdempotencyStore create(ProviderSettings settings);
}
