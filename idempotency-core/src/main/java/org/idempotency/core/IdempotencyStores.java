package org.idempotency.core;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.IdempotencyStoreProvider;
import org.idempotency.api.spi.ProviderSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds a store through {@link ServiceLoader} and builds it from settings, as in
 * {@code idempotency.store=redis} with {@code idempotency.redis.address=redis://...}.
 *
 * <p>The provider is chosen by the {@code idempotency.store} setting; without it, the only provider present
 * is used. Zero providers, an unknown name, two providers with one name, or a missing choice among several
 * are {@link IdempotencyConfigurationException}s that list what is available. A provider that fails to load
 * is reported in those messages instead of breaking discovery of the others.
 *
 * <p>Discovery is a convenience: building a store with its own builder is the recommended path.
 * Stateless and thread-safe.
 */
public final class IdempotencyStores {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyStores.class);

    private IdempotencyStores() {
    }

    /**
     * Builds the store named by the settings, discovering providers with the context class loader.
     *
     * @param settings the store's settings; {@link ProviderSettings#STORE} chooses the provider
     * @return a new store from the chosen provider
     */
    public static IdempotencyStore fromSettings(ProviderSettings settings) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        return fromSettings(settings, loader != null ? loader : IdempotencyStores.class.getClassLoader());
    }

    /**
     * Builds the store named by the settings, discovering providers with the given class loader.
     *
     * @param settings the store's settings; {@link ProviderSettings#STORE} chooses the provider
     * @param loader the class loader providers are discovered with
     * @return a new store from the chosen provider
     */
    public static IdempotencyStore fromSettings(ProviderSettings settings, ClassLoader loader) {
        Discovery discovery = discover(ServiceLoader.load(IdempotencyStoreProvider.class, loader));
        IdempotencyStoreProvider provider = discovery.choose(settings.get(ProviderSettings.STORE).orElse(null));
        LOG.debug("Building the '{}' idempotency store with {}", provider.name(), provider.getClass().getName());
        return provider.create(settings);
    }

    /**
     * The names of the providers found by the given class loader, sorted.
     *
     * @param loader the class loader providers are discovered with
     * @return the provider names, sorted; empty if none is found
     */
    public static List<String> availableProviders(ClassLoader loader) {
        return List.copyOf(new TreeSet<>(discover(ServiceLoader.load(IdempotencyStoreProvider.class, loader))
                .byName.keySet()));
    }

    static Discovery discover(ServiceLoader<IdempotencyStoreProvider> loader) {
        Map<String, List<IdempotencyStoreProvider>> byName = new LinkedHashMap<>();
        List<String> broken = new ArrayList<>();
        Iterator<IdempotencyStoreProvider> it = loader.iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                IdempotencyStoreProvider provider = it.next();
                byName.computeIfAbsent(provider.name(), name -> new ArrayList<>()).add(provider);
            } catch (ServiceConfigurationError e) {
                LOG.warn("An idempotency store provider could not be loaded: {}", e.getMessage());
                broken.add(e.getMessage());
            }
        }
        return new Discovery(byName, broken);
    }

    static final class Discovery {
        final Map<String, List<IdempotencyStoreProvider>> byName;
        final List<String> broken;

        Discovery(Map<String, List<IdempotencyStoreProvider>> byName, List<String> broken) {
            this.byName = byName;
            this.broken = broken;
        }

        IdempotencyStoreProvider choose(String requested) {
            if (byName.isEmpty()) {
                throw new IdempotencyConfigurationException("No idempotency store provider was found on the class"
                        + " or module path" + brokenNote() + "; add a store module such as idempotency-core"
                        + " (provider 'memory'), idempotency-store-redis or idempotency-store-jdbi");
            }
            for (Map.Entry<String, List<IdempotencyStoreProvider>> entry : byName.entrySet()) {
                if (entry.getValue().size() > 1 && (requested == null || requested.equals(entry.getKey()))) {
                    List<String> classes = new ArrayList<>();
                    entry.getValue().forEach(p -> classes.add(p.getClass().getName()));
                    throw new IdempotencyConfigurationException("Several idempotency store providers are named '"
                            + entry.getKey() + "': " + classes + "; remove one from the class path. Available: "
                            + describe());
                }
            }
            if (requested == null) {
                if (byName.size() == 1) {
                    return byName.values().iterator().next().get(0);
                }
                throw new IdempotencyConfigurationException("Several idempotency store providers are available ("
                        + describe() + "); choose one with the setting '" + ProviderSettings.STORE + "'");
            }
            List<IdempotencyStoreProvider> found = byName.get(requested);
            if (found == null) {
                throw new IdempotencyConfigurationException("Unknown idempotency store '" + requested
                        + "' in setting '" + ProviderSettings.STORE + "'; available: " + describe() + brokenNote());
            }
            return found.get(0);
        }

        private String describe() {
            List<String> out = new ArrayList<>();
            byName.forEach((name, providers) -> providers.forEach(
                    p -> out.add(name + " (" + p.getClass().getName() + ")")));
            return String.join(", ", out);
        }

        private String brokenNote() {
            return broken.isEmpty() ? "" : " (providers that failed to load: " + broken + ")";
        }
    }
}
