package org.idempotency.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * The {@code idempotency.*} properties of the starter: the engine's settings, the store and its options, the
 * servlet filter, and the annotation's checks. Durations take {@code 30s}, {@code 500ms}, {@code PT30S}; sizes
 * take {@code 1MB}, {@code 512KB}.
 *
 * <p>Not thread-safe; bound once at start.
 */
@ConfigurationProperties("idempotency")
public class IdempotencyProperties {

    /**
     * The store: "redis" (Redis through the application's RedissonClient bean), "jdbi" (PostgreSQL through the
     * application's DataSource), "memory" (this instance only), or unset to choose from the context: Redis if there
     * is a RedissonClient, the SQL store if there is a DataSource, otherwise memory with a warning.
     */
    private @Nullable String store;

    /** How long an execution owns its key before another may take it over, if not renewed. */
    private Duration lease = Duration.ofSeconds(30);

    /** How long completed and failed records are kept and replayed. */
    private Duration retention = Duration.ofHours(24);

    /**
     * How long a duplicate waits for the running execution to finish before it is refused; zero refuses at once.
     */
    private Duration waitForInProgress = Duration.ZERO;

    /** The longest an execution is kept alive; past it, its lease is no longer renewed. */
    private Duration maxExecutionTime = Duration.ofHours(1);

    /** The largest encoded result kept; a larger one closes its record without being replayable. */
    private DataSize maxResultSize = DataSize.ofMegabytes(1);

    /** Whether to run work unprotected when the store cannot be reached (reported); false fails closed. */
    private boolean failOpen;

    /** How often expired records are purged, for stores without native expiry; zero turns purging off. */
    private Duration purgeInterval = Duration.ofMinutes(1);

    /**
     * Whether a bean calling its own @Idempotent method (which bypasses the proxy) fails the start; false logs a
     * warning instead.
     */
    private boolean failOnSelfInvocation = true;

    /**
     * The base of the "type" URI of problem+json answers (followed by the problem's code); unset for
     * "about:blank".
     */
    private @Nullable String problemTypeBase;

    private final Redis redis = new Redis();
    private final Jdbc jdbc = new Jdbc();
    private final Http http = new Http();
    private final Kafka kafka = new Kafka();

    /** The defaults, before binding. */
    public IdempotencyProperties() {
    }

    /**
     * The store: "redis" (Redis through the application's RedissonClient bean), "jdbi" (PostgreSQL through the
     * application's DataSource), "memory" (this instance only), or unset to choose from the context: Redis if there is
     * a RedissonClient, the SQL store if there is a DataSource, otherwise memory with a warning.
     *
     * @return the {@code store} setting
     */
    public @Nullable String getStore() {
        return store;
    }

    /**
     * Sets the {@code store} setting: the store: "redis" (Redis through the application's RedissonClient bean), "jdbi"
     * (PostgreSQL through the application's DataSource), "memory" (this instance only), or unset to choose from the
     * context: Redis if there is a RedissonClient, the SQL store if there is a DataSource, otherwise memory with a
     * warning.
     *
     * @param store the value
     */
    public void setStore(@Nullable String store) {
        this.store = store;
    }

    /**
     * How long an execution owns its key before another may take it over, if not renewed.
     *
     * @return the {@code lease} setting
     */
    public Duration getLease() {
        return lease;
    }

    /**
     * Sets the {@code lease} setting: how long an execution owns its key before another may take it over, if not
     * renewed.
     *
     * @param lease the value
     */
    public void setLease(Duration lease) {
        this.lease = lease;
    }

    /**
     * How long completed and failed records are kept and replayed.
     *
     * @return the {@code retention} setting
     */
    public Duration getRetention() {
        return retention;
    }

    /**
     * Sets the {@code retention} setting: how long completed and failed records are kept and replayed.
     *
     * @param retention the value
     */
    public void setRetention(Duration retention) {
        this.retention = retention;
    }

    /**
     * How long a duplicate waits for the running execution to finish before it is refused; zero refuses at once.
     *
     * @return the {@code wait-for-in-progress} setting
     */
    public Duration getWaitForInProgress() {
        return waitForInProgress;
    }

    /**
     * Sets the {@code wait-for-in-progress} setting: how long a duplicate waits for the running execution to finish
     * before it is refused; zero refuses at once.
     *
     * @param waitForInProgress the value
     */
    public void setWaitForInProgress(Duration waitForInProgress) {
        this.waitForInProgress = waitForInProgress;
    }

    /**
     * The longest an execution is kept alive; past it, its lease is no longer renewed.
     *
     * @return the {@code max-execution-time} setting
     */
    public Duration getMaxExecutionTime() {
        return maxExecutionTime;
    }

    /**
     * Sets the {@code max-execution-time} setting: the longest an execution is kept alive; past it, its lease is no
     * longer renewed.
     *
     * @param maxExecutionTime the value
     */
    public void setMaxExecutionTime(Duration maxExecutionTime) {
        this.maxExecutionTime = maxExecutionTime;
    }

    /**
     * The largest encoded result kept; a larger one closes its record without being replayable.
     *
     * @return the {@code max-result-size} setting
     */
    public DataSize getMaxResultSize() {
        return maxResultSize;
    }

    /**
     * Sets the {@code max-result-size} setting: the largest encoded result kept; a larger one closes its record without
     * being replayable.
     *
     * @param maxResultSize the value
     */
    public void setMaxResultSize(DataSize maxResultSize) {
        this.maxResultSize = maxResultSize;
    }

    /**
     * Whether to run work unprotected when the store cannot be reached (reported); false fails closed.
     *
     * @return the {@code fail-open} setting
     */
    public boolean isFailOpen() {
        return failOpen;
    }

    /**
     * Sets the {@code fail-open} setting: whether to run work unprotected when the store cannot be reached (reported);
     * false fails closed.
     *
     * @param failOpen the value
     */
    public void setFailOpen(boolean failOpen) {
        this.failOpen = failOpen;
    }

    /**
     * How often expired records are purged, for stores without native expiry; zero turns purging off.
     *
     * @return the {@code purge-interval} setting
     */
    public Duration getPurgeInterval() {
        return purgeInterval;
    }

    /**
     * Sets the {@code purge-interval} setting: how often expired records are purged, for stores without native expiry;
     * zero turns purging off.
     *
     * @param purgeInterval the value
     */
    public void setPurgeInterval(Duration purgeInterval) {
        this.purgeInterval = purgeInterval;
    }

    /**
     * Whether a bean calling its own @Idempotent method (which bypasses the proxy) fails the start; false logs a
     * warning instead.
     *
     * @return the {@code fail-on-self-invocation} setting
     */
    public boolean isFailOnSelfInvocation() {
        return failOnSelfInvocation;
    }

    /**
     * Sets the {@code fail-on-self-invocation} setting: whether a bean calling its own @Idempotent method (which
     * bypasses the proxy) fails the start; false logs a warning instead.
     *
     * @param failOnSelfInvocation the value
     */
    public void setFailOnSelfInvocation(boolean failOnSelfInvocation) {
        this.failOnSelfInvocation = failOnSelfInvocation;
    }

    /**
     * The base of the "type" URI of problem+json answers (followed by the problem's code); unset for "about:blank".
     *
     * @return the {@code problem-type-base} setting
     */
    public @Nullable String getProblemTypeBase() {
        return problemTypeBase;
    }

    /**
     * Sets the {@code problem-type-base} setting: the base of the "type" URI of problem+json answers (followed by the
     * problem's code); unset for "about:blank".
     *
     * @param problemTypeBase the value
     */
    public void setProblemTypeBase(@Nullable String problemTypeBase) {
        this.problemTypeBase = problemTypeBase;
    }

    /**
     * The Redis store's options.
     *
     * @return the {@code redis} setting
     */
    public Redis getRedis() {
        return redis;
    }

    /**
     * The SQL store's options.
     *
     * @return the {@code jdbc} setting
     */
    public Jdbc getJdbc() {
        return jdbc;
    }

    /**
     * The servlet filter's options.
     *
     * @return the {@code http} setting
     */
    public Http getHttp() {
        return http;
    }

    /**
     * The Kafka consumer loops' options.
     *
     * @return the {@code kafka} setting
     */
    public Kafka getKafka() {
        return kafka;
    }

    /** The Redis store's options. */
    public static class Redis {

        /** The defaults, before binding. */
        public Redis() {
        }

        /** The prefix of every key the store writes. */
        private String keyPrefix = "idempotency:";

        /**
         * The prefix of every key the store writes.
         *
         * @return the {@code key-prefix} setting
         */
        public String getKeyPrefix() {
            return keyPrefix;
        }

        /**
         * Sets the {@code key-prefix} setting: the prefix of every key the store writes.
         *
         * @param keyPrefix the value
         */
        public void setKeyPrefix(String keyPrefix) {
            this.keyPrefix = keyPrefix;
        }
    }

    /** The SQL store's options. */
    public static class Jdbc {

        /** The defaults, before binding. */
        public Jdbc() {
        }

        /** The table holding the records, optionally with its schema ("schema.table"); lower-case SQL names. */
        private String table = "idempotency_records";

        /**
         * Whether to create the table, its sequence and its index at start if they are missing; turn it off when
         * migrations create them (the script is META-INF/idempotency/jdbi/postgresql.sql in the store's jar).
         */
        private boolean createSchema = true;

        /** How many expired rows one purge statement deletes. */
        private int purgeBatchSize = 1000;

        /**
         * The table holding the records, optionally with its schema ("schema.table"); lower-case SQL names.
         *
         * @return the {@code table} setting
         */
        public String getTable() {
            return table;
        }

        /**
         * Sets the {@code table} setting: the table holding the records, optionally with its schema ("schema.table");
         * lower-case SQL names.
         *
         * @param table the value
         */
        public void setTable(String table) {
            this.table = table;
        }

        /**
         * Whether to create the table, its sequence and its index at start if they are missing; turn it off when
         * migrations create them (the script is META-INF/idempotency/jdbi/postgresql.sql in the store's jar).
         *
         * @return the {@code create-schema} setting
         */
        public boolean isCreateSchema() {
            return createSchema;
        }

        /**
         * Sets the {@code create-schema} setting: whether to create the table, its sequence and its index at start if
         * they are missing; turn it off when migrations create them (the script is META-
         * INF/idempotency/jdbi/postgresql.sql in the store's jar).
         *
         * @param createSchema the value
         */
        public void setCreateSchema(boolean createSchema) {
            this.createSchema = createSchema;
        }

        /**
         * How many expired rows one purge statement deletes.
         *
         * @return the {@code purge-batch-size} setting
         */
        public int getPurgeBatchSize() {
            return purgeBatchSize;
        }

        /**
         * Sets the {@code purge-batch-size} setting: how many expired rows one purge statement deletes.
         *
         * @param purgeBatchSize the value
         */
        public void setPurgeBatchSize(int purgeBatchSize) {
            this.purgeBatchSize = purgeBatchSize;
        }
    }

    /** The servlet filter, registered when URL patterns are given. */
    public static class Http {

        /** The defaults, before binding. */
        public Http() {
        }

        /** The URL patterns the Idempotency-Key filter covers, such as /orders/*; none: no filter. */
        private List<String> urlPatterns = new ArrayList<>();

        /** The operation name that namespaces the filter's records. */
        private String operation = "http";

        /** Whether a covered request without an Idempotency-Key header is refused with 400. */
        private boolean keyRequired;

        /** Response headers stored and replayed besides Content-Type and Location. */
        private List<String> replayHeaders = new ArrayList<>();

        /** The largest request body accepted with an Idempotency-Key; larger ones are answered 413. */
        private DataSize maxRequestSize = DataSize.ofMegabytes(1);

        /** The largest response held back and stored; larger ones are answered 413. */
        private DataSize maxResponseSize = DataSize.ofMegabytes(1);

        /**
         * The filter's order: after Spring Security's filter chain (-100), so that keys are scoped by the
         * authenticated principal.
         */
        private int order = -90;

        /**
         * The URL patterns the Idempotency-Key filter covers, such as /orders/*; none: no filter.
         *
         * @return the {@code url-patterns} setting
         */
        public List<String> getUrlPatterns() {
            return urlPatterns;
        }

        /**
         * Sets the {@code url-patterns} setting: the URL patterns the Idempotency-Key filter covers, such as /orders/*;
         * none: no filter.
         *
         * @param urlPatterns the value
         */
        public void setUrlPatterns(List<String> urlPatterns) {
            this.urlPatterns = urlPatterns;
        }

        /**
         * The operation name that namespaces the filter's records.
         *
         * @return the {@code operation} setting
         */
        public String getOperation() {
            return operation;
        }

        /**
         * Sets the {@code operation} setting: the operation name that namespaces the filter's records.
         *
         * @param operation the value
         */
        public void setOperation(String operation) {
            this.operation = operation;
        }

        /**
         * Whether a covered request without an Idempotency-Key header is refused with 400.
         *
         * @return the {@code key-required} setting
         */
        public boolean isKeyRequired() {
            return keyRequired;
        }

        /**
         * Sets the {@code key-required} setting: whether a covered request without an Idempotency-Key header is refused
         * with 400.
         *
         * @param keyRequired the value
         */
        public void setKeyRequired(boolean keyRequired) {
            this.keyRequired = keyRequired;
        }

        /**
         * Response headers stored and replayed besides Content-Type and Location.
         *
         * @return the {@code replay-headers} setting
         */
        public List<String> getReplayHeaders() {
            return replayHeaders;
        }

        /**
         * Sets the {@code replay-headers} setting: response headers stored and replayed besides Content-Type and
         * Location.
         *
         * @param replayHeaders the value
         */
        public void setReplayHeaders(List<String> replayHeaders) {
            this.replayHeaders = replayHeaders;
        }

        /**
         * The largest request body accepted with an Idempotency-Key; larger ones are answered 413.
         *
         * @return the {@code max-request-size} setting
         */
        public DataSize getMaxRequestSize() {
            return maxRequestSize;
        }

        /**
         * Sets the {@code max-request-size} setting: the largest request body accepted with an Idempotency-Key; larger
         * ones are answered 413.
         *
         * @param maxRequestSize the value
         */
        public void setMaxRequestSize(DataSize maxRequestSize) {
            this.maxRequestSize = maxRequestSize;
        }

        /**
         * The largest response held back and stored; larger ones are answered 413.
         *
         * @return the {@code max-response-size} setting
         */
        public DataSize getMaxResponseSize() {
            return maxResponseSize;
        }

        /**
         * Sets the {@code max-response-size} setting: the largest response held back and stored; larger ones are
         * answered 413.
         *
         * @param maxResponseSize the value
         */
        public void setMaxResponseSize(DataSize maxResponseSize) {
            this.maxResponseSize = maxResponseSize;
        }

        /**
         * The filter's order: after Spring Security's filter chain (-100), so that keys are scoped by the authenticated
         * principal.
         *
         * @return the {@code order} setting
         */
        public int getOrder() {
            return order;
        }

        /**
         * Sets the {@code order} setting: the filter's order: after Spring Security's filter chain (-100), so that keys
         * are scoped by the authenticated principal.
         *
         * @param order the value
         */
        public void setOrder(int order) {
            this.order = order;
        }
    }

    /** The Kafka consumer loops. */
    public static class Kafka {

        /** The defaults, before binding. */
        public Kafka() {
        }

        /** Whether IdempotentConsumerLoop beans are run on threads of their own while the application runs. */
        private boolean runLoops = true;

        /** How long closing waits for each loop to finish its record and commit. */
        private Duration shutdownTimeout = Duration.ofSeconds(15);

        /**
         * Whether IdempotentConsumerLoop beans are run on threads of their own while the application runs.
         *
         * @return the {@code run-loops} setting
         */
        public boolean isRunLoops() {
            return runLoops;
        }

        /**
         * Sets the {@code run-loops} setting: whether IdempotentConsumerLoop beans are run on threads of their own
         * while the application runs.
         *
         * @param runLoops the value
         */
        public void setRunLoops(boolean runLoops) {
            this.runLoops = runLoops;
        }

        /**
         * How long closing waits for each loop to finish its record and commit.
         *
         * @return the {@code shutdown-timeout} setting
         */
        public Duration getShutdownTimeout() {
            return shutdownTimeout;
        }

        /**
         * Sets the {@code shutdown-timeout} setting: how long closing waits for each loop to finish its record and
         * commit.
         *
         * @param shutdownTimeout the value
         */
        public void setShutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = shutdownTimeout;
        }
    }
}
