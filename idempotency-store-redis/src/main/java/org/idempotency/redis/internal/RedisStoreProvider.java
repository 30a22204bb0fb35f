package org.idempotency.redis.internal;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.IdempotencyStoreProvider;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.redis.EvictionPolicyCheck;
import org.idempotency.redis.RedisIdempotencyStore;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * Discovers the Redis store as provider {@code redis}, building its own Redisson client from settings; the
 * store owns that client and shuts it down when closed. Settings, all under {@code idempotency.redis.}:
 * <ul>
 *   <li>{@code address}: one server, {@code redis://host:port} or {@code rediss://host:port} (TLS); or</li>
 *   <li>{@code nodes}: Redis Cluster node addresses, comma separated, in the same form;</li>
 *   <li>{@code username}, {@code password}: credentials (the password is never repeated in messages);</li>
 *   <li>{@code database}: the database number (default 0);</li>
 *   <li>{@code connect-timeout} (default 10 s) and {@code timeout}, the reply timeout (default 3 s), as
 *       {@code 500ms}, {@code 3s} or {@code PT3S};</li>
 *   <li>{@code retry-attempts}: how often Redisson tries again to connect or to send a command before it
 *       gives up (default 4, Redisson's); each store call carries an id, so a call sent twice has one effect;</li>
 *   <li>{@code key-prefix}: the prefix of every key (default {@code idempotency:}); it ends with its only
 *       {@code ':'} (see {@link RedisIdempotencyStore.Builder#keyPrefix});</li>
 *   <li>{@code wait-replicas} and {@code wait-timeout}: how many replicas must acknowledge each write, and how
 *       long a call waits for them (default 0, off, and 1 s; see
 *       {@link RedisIdempotencyStore.Builder#replicaAcknowledgement});</li>
 *   <li>{@code eviction-policy-check}: {@code warn} (default), {@code refuse} or {@code off}, about a server whose
 *       {@code maxmemory-policy} can evict records (see {@link org.idempotency.redis.EvictionPolicyCheck}).</li>
 * </ul>
 * Unknown settings under {@code idempotency.redis.} are refused, so a misspelt one is not silently ignored.
 * The client connects while the store is built, so an unreachable server fails then, naming the address:
 * after about {@code retry-attempts + 1} connect timeouts (and Redisson's delays of one to two seconds between
 * attempts); with {@code retry-attempts=0}, after one.
 *
 * <p>Stateless and thread-safe.
 */
public final class RedisStoreProvider implements IdempotencyStoreProvider {

    static final String PREFIX = "idempotency.redis.";
    static final String ADDRESS = PREFIX + "address";
    static final String NODES = PREFIX + "nodes";
    static final String USERNAME = PREFIX + "username";
    static final String PASSWORD = PREFIX + "password";
    static final String DATABASE = PREFIX + "database";
    static final String CONNECT_TIMEOUT = PREFIX + "connect-timeout";
    static final String TIMEOUT = PREFIX + "timeout";
    static final String RETRY_ATTEMPTS = PREFIX + "retry-attempts";
    static final String KEY_PREFIX = PREFIX + "key-prefix";
    static final String WAIT_REPLICAS = PREFIX + "wait-replicas";
    static final String WAIT_TIMEOUT = PREFIX + "wait-timeout";
    static final String EVICTION_POLICY_CHECK = PREFIX + "eviction-policy-check";
    private static final Set<String> KNOWN = Set.of(ADDRESS, NODES, USERNAME, PASSWORD, DATABASE, CONNECT_TIMEOUT,
            TIMEOUT, RETRY_ATTEMPTS, KEY_PREFIX, WAIT_REPLICAS, WAIT_TIMEOUT, EVICTION_POLICY_CHECK);
    private static final String ADDRESS_FORM = "redis://host:port, or rediss://host:port for TLS";

    public RedisStoreProvider() {
    }

    @Override
    public String name() {
        return "redis";
    }

    @Override
    public IdempotencyStore create(ProviderSettings settings) {
        settings.rejectUnknown(PREFIX, KNOWN);
        Optional<String> address = settings.get(ADDRESS);
        List<String> nodes = settings.list(NODES);
        if (address.isPresent() && !nodes.isEmpty()) {
            throw new IdempotencyConfigurationException("Settings '" + ADDRESS + "' (one server) and '" + NODES
                    + "' (a cluster) exclude each other; set only one");
        }
        if (address.isEmpty() && nodes.isEmpty()) {
            throw new IdempotencyConfigurationException("Missing setting '" + ADDRESS + "' (one server, "
                    + ADDRESS_FORM + ") or '" + NODES + "' (cluster nodes, comma separated): the 'redis' store"
                    + " needs one of them");
        }
        List<String> addresses = new ArrayList<>();
        if (address.isPresent()) {
            addresses.add(checkAddress(settings, ADDRESS, address.get()));
        } else {
            for (String node : nodes) {
                addresses.add(checkAddress(settings, NODES, node));
            }
        }
        int database = settings.integer(DATABASE, 0, 0, Integer.MAX_VALUE);
        int connectTimeout = millis(settings, CONNECT_TIMEOUT, Duration.ofSeconds(10));
        int timeout = millis(settings, TIMEOUT, Duration.ofSeconds(3));
        int retryAttempts = settings.integer(RETRY_ATTEMPTS, 4, 0, 100);
        String keyPrefix = settings.get(KEY_PREFIX).orElse(RedisIdempotencyStore.DEFAULT_KEY_PREFIX);
        int waitReplicas = settings.integer(WAIT_REPLICAS, 0, 0, 1000);
        if (waitReplicas == 0 && settings.get(WAIT_TIMEOUT).isPresent()) {
            throw new IdempotencyConfigurationException("Setting '" + WAIT_TIMEOUT + "' needs '" + WAIT_REPLICAS
                    + "' of 1 or more (how many replicas must acknowledge each write); without it nothing waits");
        }
        int waitTimeout = millis(settings, WAIT_TIMEOUT, Duration.ofSeconds(1));
        EvictionPolicyCheck evictionCheck = evictionPolicyCheck(settings);
        try {
            KeyPrefixes.check(keyPrefix);
        } catch (IllegalArgumentException e) {
            throw settings.malformed(KEY_PREFIX, keyPrefix, KeyPrefixes.RULE);
        }

        Config config = new Config();
        // the store passes plain byte arrays; Redisson need not look for its object references in them
        config.setReferenceEnabled(false);
        settings.get(USERNAME).ifPresent(config::setUsername);
        settings.get(PASSWORD).ifPresent(config::setPassword);
        if (address.isPresent()) {
            config.useSingleServer()
                    .setAddress(addresses.get(0))
                    .setDatabase(database)
                    .setConnectTimeout(connectTimeout)
                    .setTimeout(timeout)
                    .setRetryAttempts(retryAttempts);
        } else {
            config.useClusterServers()
                    .addNodeAddress(addresses.toArray(String[]::new))
                    .setDatabase(database)
                    .setConnectTimeout(connectTimeout)
                    .setTimeout(timeout)
                    .setRetryAttempts(retryAttempts);
        }
        RedissonClient client;
        try {
            client = Redisson.create(config);
        } catch (RuntimeException e) {
            List<String> shown = addresses.stream().map(RedisStoreProvider::withoutCredentials).toList();
            throw new IdempotencyStoreException("Cannot connect to Redis at " + String.join(", ", shown)
                    + " (setting '" + (address.isPresent() ? ADDRESS : NODES) + "', connect timeout "
                    + connectTimeout + " ms, " + retryAttempts + " retries); check that the server runs and the"
                    + " address is right", null, e);
        }
        try {
            return RedisIdempotencyStore.builder(client)
                    .keyPrefix(keyPrefix)
                    .replicaAcknowledgement(waitReplicas, Duration.ofMillis(waitTimeout))
                    .evictionPolicyCheck(evictionCheck)
                    .closeClientOnClose(true)
                    .build();
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }

    private static EvictionPolicyCheck evictionPolicyCheck(ProviderSettings settings) {
        String value = settings.get(EVICTION_POLICY_CHECK).orElse("warn");
        for (EvictionPolicyCheck check : EvictionPolicyCheck.values()) {
            if (check.name().equalsIgnoreCase(value.trim())) {
                return check;
            }
        }
        throw settings.malformed(EVICTION_POLICY_CHECK, value, "warn, refuse or off");
    }

    private static String checkAddress(ProviderSettings settings, String name, String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw settings.malformed(name, withoutCredentials(value), ADDRESS_FORM);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("redis") && !scheme.equals("rediss")) {
            throw settings.malformed(name, withoutCredentials(value), ADDRESS_FORM + " (unknown scheme '"
                    + scheme + "')");
        }
        if (uri.getHost() == null || uri.getPort() < 1 || uri.getPort() > 65535) {
            throw settings.malformed(name, withoutCredentials(value), ADDRESS_FORM + " (with a host and a port)");
        }
        return value;
    }

    private static int millis(ProviderSettings settings, String name, Duration defaultValue) {
        Duration duration = settings.duration(name, defaultValue);
        if (duration.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0 || duration.toMillis() < 1) {
            throw settings.malformed(name, settings.get(name).orElse(""), "a duration from 1 ms to 24 days");
        }
        return (int) duration.toMillis();
    }

    /** An address as shown in messages: credentials embedded as {@code user:password@} are hidden. */
    static String withoutCredentials(String address) {
        int scheme = address.indexOf("://");
        int at = address.lastIndexOf('@');
        if (scheme < 0 || at < scheme) {
            return address;
        }
        return address.substring(0, scheme + 3) + "<hidden>@" + address.substring(at + 1);
    }
}
