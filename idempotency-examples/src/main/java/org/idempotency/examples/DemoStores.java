package org.idempotency.examples;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.IdempotencyStores;
import org.idempotency.core.InMemoryIdempotencyStore;

/**
 * Builds the store named by the demo's {@code --store} flag. Redis and PostgreSQL are found through their
 * providers ({@code redis}, {@code jdbi}), with settings for a development machine's local services, each of
 * which a {@code -Didempotency.<provider>.<setting>=...} system property overrides.
 */
final class DemoStores {

    /**
     * How long the demo keeps a finished record: long enough to replay a request by hand, short enough that a
     * run does not leave much behind in a shared store for long.
     */
    static final Duration RETENTION = Duration.ofHours(1);

    /** The names the flag accepts. */
    static final List<String> NAMES = List.of("memory", "redis", "postgres");

    /**
     * Settings for the services of a development machine, or for those named by the environment variables the
     * tests use ({@code IDEMPOTENCY_REDIS_URL}, {@code IDEMPOTENCY_POSTGRES_URL}, a JDBC URL carrying its
     * credentials); each can be overridden with a system property.
     */
    private static final Map<String, String> DEFAULTS = defaults(System.getenv());

    static Map<String, String> defaults(Map<String, String> environment) {
        Map<String, String> defaults = new TreeMap<>();
        defaults.put("idempotency.redis.address",
                environment.getOrDefault("IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379"));
        defaults.put("idempotency.redis.key-prefix", "idempotency-demo:");
        String postgres = environment.get("IDEMPOTENCY_POSTGRES_URL");
        if (postgres == null) {
            defaults.put("idempotency.jdbi.url", "jdbc:postgresql://127.0.0.1:5432/test");
            defaults.put("idempotency.jdbi.user", "postgres");
        } else {
            defaults.put("idempotency.jdbi.url", postgres);
        }
        defaults.put("idempotency.jdbi.table", "idempotency_demo");
        defaults.put("idempotency.jdbi.create-schema", "true");
        return Map.copyOf(defaults);
    }

    private DemoStores() {
    }

    static IdempotencyStore create(String name) {
        return switch (name) {
            case "memory" -> InMemoryIdempotencyStore.create();
            case "redis" -> discovered(name, "redis", "idempotency-store-redis");
            case "postgres" -> discovered(name, "jdbi", "idempotency-store-jdbi");
            default -> throw new IllegalArgumentException("Unknown store '" + name + "'; --store takes one of "
                    + String.join(", ", NAMES));
        };
    }

    /** A store module found through its provider; never a silent fallback to another store. */
    private static IdempotencyStore discovered(String flag, String provider, String module) {
        ClassLoader loader = DemoStores.class.getClassLoader();
        if (!IdempotencyStores.availableProviders(loader).contains(provider)) {
            throw new IllegalStateException("--store=" + flag + " needs the " + module + " module, which this"
                    + " build of idempotency-examples does not include: add it as a dependency of"
                    + " idempotency-examples (its '" + provider + "' provider is then found here) and pass its"
                    + " settings as -Didempotency." + provider + ".<setting>=<value>");
        }
        Map<String, String> settings = settings();
        settings.put(ProviderSettings.STORE, provider);
        return IdempotencyStores.fromSettings(ProviderSettings.of(settings), loader);
    }

    /** The defaults, overridden by {@code -Didempotency.<provider>.<setting>=...} system properties. */
    private static Map<String, String> settings() {
        Map<String, String> settings = new TreeMap<>(DEFAULTS);
        System.getProperties().stringPropertyNames().stream()
                .filter(property -> property.startsWith("idempotency."))
                .forEach(property -> settings.put(property, System.getProperty(property)));
        return settings;
    }

    /**
     * What a run leaves in a persistent store, and until when, for the demo's last line (never an address:
     * a JDBC URL may carry a password); nothing for the in-memory store.
     */
    static Optional<String> leftBehind(String name) {
        Map<String, String> settings = settings();
        String hours = RETENTION.toHours() + " h";
        return switch (name) {
            case "redis" -> Optional.of("Left in Redis: this run's records, under the key prefix '"
                    + settings.get("idempotency.redis.key-prefix") + "'; Redis deletes each one " + hours
                    + " after its request finished.");
            case "postgres" -> Optional.of("Left in PostgreSQL: this run's records, in the table '"
                    + settings.get("idempotency.jdbi.table") + "' (created if missing, and kept); they expire "
                    + hours + " after their request finished, and the purge of a later run deletes them.");
            default -> Optional.empty();
        };
    }
}
