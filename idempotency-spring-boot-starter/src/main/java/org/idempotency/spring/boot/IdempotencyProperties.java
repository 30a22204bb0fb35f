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

    public @Nullable String getStore() {
        return store;
    }

    public void setStore(@Nullable String store) {
        this.store = store;
    }

    public Duration getLease() {
        return lease;
    }

    public void setLease(Duration lease) {
        this.lease = lease;
    }

    public Duration getRetention() {
        return retention;
    }

    public void setRetention(Duration retention) {
        this.retention = retention;
    }

    public Duration getWaitForInProgress() {
        return waitForInProgress;
    }

    public void setWaitForInProgress(Duration waitForInProgress) {
        this.waitForInProgress = waitForInProgress;
    }

    public Duration getMaxExecutionTime() {
        return maxExecutionTime;
    }

    public void setMaxExecutionTime(Duration maxExecutionTime) {
        this.maxExecutionTime = maxExecutionTime;
    }

    public DataSize getMaxResultSize() {
        return maxResultSize;
    }

    public void setMaxResultSize(DataSize maxResultSize) {
        this.maxResultSize = maxResultSize;
    }

    public boolean isFailOpen() {
        return failOpen;
    }

    public void setFailOpen(boolean failOpen) {
        this.failOpen = failOpen;
    }

    public Duration getPurgeInterval() {
        return purgeInterval;
    }

    public void setPurgeInterval(Duration purgeInterval) {
        this.purgeInterval = purgeInterval;
    }

    public boolean isFailOnSelfInvocation() {
        return failOnSelfInvocation;
    }

    public void setFailOnSelfInvocation(boolean failOnSelfInvocation) {
        this.failOnSelfInvocation = failOnSelfInvocation;
    }

    public @Nullable String getProblemTypeBase() {
        return problemTypeBase;
    }

    public void setProblemTypeBase(@Nullable String problemTypeBase) {
        this.problemTypeBase = problemTypeBase;
    }

    public Redis getRedis() {
        return redis;
    }

    public Jdbc getJdbc() {
        return jdbc;
    }

    public Http getHttp() {
        return http;
    }

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

        public String getKeyPrefix() {
            return keyPrefix;
        }

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

        public String getTable() {
            return table;
        }

        public void setTable(String table) {
            this.table = table;
        }

        public boolean isCreateSchema() {
            return createSchema;
        }

        public void setCreateSchema(boolean createSchema) {
            this.createSchema = createSchema;
        }

        public int getPurgeBatchSize() {
            return purgeBatchSize;
        }

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

        public List<String> getUrlPatterns() {
            return urlPatterns;
        }

        public void setUrlPatterns(List<String> urlPatterns) {
            this.urlPatterns = urlPatterns;
        }

        public String getOperation() {
            return operation;
        }

        public void setOperation(String operation) {
            this.operation = operation;
        }

        public boolean isKeyRequired() {
            return keyRequired;
        }

        public void setKeyRequired(boolean keyRequired) {
            this.keyRequired = keyRequired;
        }

        public List<String> getReplayHeaders() {
            return replayHeaders;
        }

        public void setReplayHeaders(List<String> replayHeaders) {
            this.replayHeaders = replayHeaders;
        }

        public DataSize getMaxRequestSize() {
            return maxRequestSize;
        }

        public void setMaxRequestSize(DataSize maxRequestSize) {
            this.maxRequestSize = maxRequestSize;
        }

        public DataSize getMaxResponseSize() {
            return maxResponseSize;
        }

        public void setMaxResponseSize(DataSize maxResponseSize) {
            this.maxResponseSize = maxResponseSize;
        }

        public int getOrder() {
            return order;
        }

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

        public boolean isRunLoops() {
            return runLoops;
        }

        public void setRunLoops(boolean runLoops) {
            this.runLoops = runLoops;
        }

        public Duration getShutdownTimeout() {
            return shutdownTimeout;
        }

        public void setShutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = shutdownTimeout;
        }
    }
}
