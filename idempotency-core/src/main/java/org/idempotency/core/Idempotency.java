package org.idempotency.core;

import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.idempotency.api.IdempotencyEvent;
import org.idempotency.api.IdempotencyListener;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.TypeRef;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.PurgeableIdempotencyStore;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The idempotency engine: runs work once per key over a store, replays stored results to duplicates,
 * refuses a key reused with a different request, and hands over crashed owners' leases safely.
 *
 * <pre>{@code
 * Idempotency idempotency = Idempotency.builder(store).build();
 * IdempotentOperation<Order> createOrder = idempotency.operation("create-order", Order.class);
 * Order order = createOrder.execute(key, requestHash, () -> orders.create(request));
 * }</pre>
 *
 * <p>An instance holds the configuration and threads of its own: a lease-renewal timer with a few threads for
 * its store calls, and, for stores that need it, a purge thread. Create one per store and share it;
 * {@link #close()} stops the threads. Operation handles ({@link #operation}) are cheap and typed; create them
 * once and keep them.
 *
 * <h2>Lease renewal and its budget</h2>
 * While work runs, its lease (length {@code L}, {@link Builder#lease}) is renewed every {@code I}
 * ({@link Builder#renewInterval}, default {@code L/3}), counted from when the last confirmed call (the acquire
 * or a renewal) was sent. Renewal runs on threads of its own, never shared with purging, listeners of other
 * events or the callers' work, and one slow store call delays only the lease (or the batch of leases, with a
 * store that renews in batches) it carries. A renewal that fails is tried again after {@code R = min(I/4, 1 s)};
 * one that has not answered within the renewal timeout {@code T} ({@link Builder#renewalTimeout}, default
 * {@code I/2}) is tried again beside it. So the lease is at risk only if no renewal succeeds during the
 * {@code L - I} after one fell due (20 s with the default 30 s lease): that is the budget a slow or unreachable
 * store has. If it runs out, or the store answers that the fencing token no longer owns the record, the
 * execution's lease is marked lost ({@link Execution#isLeaseLost()}) and reported. An execution open longer
 * than {@link Builder#maxExecutionTime} (default 1 h) is no longer renewed and is reported as leaked.
 *
 * <p>Listeners are called on the thread that produced the event: the caller's, or, for what renewal finds
 * (renewals, renewal failures, lost and leaked leases), the engine's reporting thread, one event at a time: a
 * slow listener delays later reports, never a renewal. Lease-lost callbacks run on a thread of their own, so no
 * listener delays them. Whatever a listener, a store or a callback throws in the background, errors included,
 * is logged and survived.
 *
 * <p>Thread-safe.
 */
public final class Idempotency implements AutoCloseable {

    /** The operation name under which {@link #execute} keeps its keys. */
    public static final String DEFAULT_OPERATION = "default";

    static final Logger LOG = LoggerFactory.getLogger(Idempotency.class);
    private static final long MAX_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    final IdempotencyStore store;
    final ResultCodec codec;
    final Duration lease;
    final Duration retention;
    final Duration renewInterval;
    final Duration maxExecutionTime;
    final long leaseNanos;
    final long renewIntervalNanos;
    final long renewRetryNanos;
    final long renewTimeoutNanos;
    final long renewTickNanos;
    final long maxExecutionNanos;
    final long inProgressWaitNanos;
    final long pollIntervalNanos;
    final Predicate<Throwable> permanentFailure;
    final int maxResultBytes;
    final boolean failOpen;
    final IdempotencyListener[] listeners;
    final IdempotencyObserver observer;
    final LeaseRenewer renewer;
    /** This node's cache of finished records; {@code null} unless configured. */
    final @Nullable ReplayCache replayCache;
    private final @Nullable PurgeScheduler purger;
    private final List<Class<?>> resultTypes;
    private volatile @Nullable IdempotentOperation<Object> untyped;

    private Idempotency(Builder b) {
        this.store = b.store;
        this.codec = b.codec != null ? b.codec : JacksonResultCodec.create();
        this.lease = b.lease;
        this.retention = b.retention;
        this.renewInterval = b.renewInterval != null ? b.renewInterval : b.lease.dividedBy(3);
        this.maxExecutionTime = b.maxExecutionTime;
        this.leaseNanos = lease.toNanos();
        this.renewIntervalNanos = renewInterval.toNanos();
        this.renewRetryNanos = Math.max(1_000_000, Math.min(renewIntervalNanos / 4, MAX_RETRY_NANOS));
        this.renewTimeoutNanos = b.renewalTimeout != null ? b.renewalTimeout.toNanos() : renewIntervalNanos / 2;
        this.renewTickNanos = Math.max(1_000_000, Math.min(renewRetryNanos, renewIntervalNanos / 10));
        this.maxExecutionNanos = maxExecutionTime.toNanos();
        this.inProgressWaitNanos = b.inProgressWait.toNanos();
        this.pollIntervalNanos = b.pollInterval.toNanos();
        this.permanentFailure = b.permanentFailure;
        this.maxResultBytes = b.maxResultBytes;
        this.failOpen = b.failOpen;
        this.listeners = b.listeners.toArray(new IdempotencyListener[0]);
        this.observer = b.observer != null ? b.observer : Observers.NOOP;
        this.resultTypes = List.copyOf(b.resultTypes);
        if (!resultTypes.isEmpty()) {
            untyped(); // a listed type the codec cannot handle is refused now
        }
        this.replayCache = b.replayCacheEntries == 0 ? null : new ReplayCache(b.replayCacheEntries,
                b.replayCacheBytes, b.replayCacheMaxAge, b.replayCacheClockSkew, System::nanoTime);
        this.renewer = new LeaseRenewer(this);
        Duration purgeInterval = b.purgeInterval;
        this.purger = store instanceof PurgeableIdempotencyStore purgeable && !purgeInterval.isZero()
                ? PurgeScheduler.start(purgeable, purgeInterval, observer)
                : null;
    }

    /**
     * Runs {@code work} once for {@code key}, or returns the result stored by the run that did: the design card's
     * call, for results of one class each, without creating an operation first. Keys live in the namespace
     * {@value #DEFAULT_OPERATION} (stored as {@code default:key}); otherwise it behaves as
     * {@link IdempotentOperation#execute}.
     *
     * <p>A replay returns an instance of the class the first run returned. That class must be one of the engine's
     * result types: common JDK value types ({@code String}, the boxed primitives, {@code BigDecimal},
     * {@code BigInteger}, {@code UUID}, {@code URI}, the {@code java.time} values) or a class listed with
     * {@link Builder#resultTypes}; a stored result naming any other class is refused with
     * {@link org.idempotency.api.IdempotencyCodecException}, never instantiated. A result of a class that is not
     * listed cannot be kept: it is returned to this caller, the record is closed without it (replays get
     * {@link org.idempotency.api.IdempotencyResultNotKeptException}), and a {@code RESULT_NOT_KEPT} event and a
     * WARN line say which class to list. For generic results ({@code List<Order>}), or to name the operation, use
     * {@link #operation(String, TypeRef)}.
     *
     * <pre>{@code
     * Idempotency idempotency = Idempotency.builder(store).resultTypes(Order.class).build();
     * Order order = idempotency.execute(key, requestHash, () -> createOrder(request));
     * }</pre>
     *
     * @param <T> the result type; a replay returns the stored class, so use one result class per key
     * @param key the caller's idempotency key
     * @param requestHash a hash of the request, or {@code null} to skip the reuse check
     * @param work the work
     * @return the work's result, or the stored result on a replay
     * @throws org.idempotency.api.IdempotencyKeyReusedException if the key holds a different request
     * @throws org.idempotency.api.IdempotencyInProgressException if the key is held by a running execution
     * @throws org.idempotency.api.IdempotencyReplayedFailureException if an earlier run failed permanently
     * @throws org.idempotency.api.IdempotencyResultNotKeptException if the earlier run's result was not kept
     * @throws org.idempotency.api.IdempotencyStoreException if the store fails while acquiring (unless
     *     configured to fail open)
     */
    @SuppressWarnings("unchecked")
    public <T> T execute(String key, @Nullable String requestHash, Supplier<T> work) {
        return (T) untyped().execute(key, requestHash, work);
    }

    /** The operation behind {@link #execute}, created on first use. */
    private IdempotentOperation<Object> untyped() {
        IdempotentOperation<Object> operation = untyped;
        if (operation == null) {
            synchronized (this) {
                operation = untyped;
                if (operation == null) {
                    operation = new IdempotentOperation<>(this, DEFAULT_OPERATION, TypeRef.of(Object.class),
                            ResultTypes.of(codec, resultTypes));
                    untyped = operation;
                }
            }
        }
        return operation;
    }

    /**
     * Starts configuring an engine over a store.
     *
     * @param store the store the engine keeps its records in
     * @return a builder with the defaults
     */
    public static Builder builder(IdempotencyStore store) {
        return new Builder(store);
    }

    /**
     * A typed handle for one operation. The name namespaces the keys (stored as {@code name:key}), so two
     * operations never share a key; the type is what replays decode into.
     *
     * @param name 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}
     * @param type the result type, which replays decode into
     * @param <T> the result type
     * @return a handle that runs the operation's work once per key
     * @throws org.idempotency.api.InvalidIdempotencyKeyException if the name breaks the rule
     */
    public <T> IdempotentOperation<T> operation(String name, Class<T> type) {
        return operation(name, TypeRef.of(type));
    }

    /**
     * A typed handle for an operation with a generic result, such as
     * {@code operation("list-orders", new TypeRef<List<Order>>() {})}.
     *
     * @param name 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}
     * @param type the generic result type, which replays decode into
     * @param <T> the result type
     * @return a handle that runs the operation's work once per key
     */
    public <T> IdempotentOperation<T> operation(String name, TypeRef<T> type) {
        return new IdempotentOperation<>(this, IdempotencyKeys.validateOperation(name), type);
    }

    /**
     * A handle for an operation without a result: use {@link IdempotentOperation#run}.
     *
     * @param name 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}
     * @return a handle that runs the operation's work once per key
     */
    public IdempotentOperation<Void> operation(String name) {
        return operation(name, Void.class);
    }

    /**
     * Starts a batch of completions: owned executions (from {@link IdempotentOperation#beginAll} or
     * {@link IdempotentOperation#begin}) completed together, in one store round trip where the store allows it.
     *
     * @return an empty batch, for one caller thread
     * @see CompletionBatch
     */
    public CompletionBatch completionBatch() {
        return new CompletionBatch(this);
    }

    /**
     * Forgets a key of an operation, for administrators: as {@link IdempotentOperation#forget}.
     *
     * @param operation the operation name
     * @param key the caller's key
     * @return what was removed, and how long other nodes may still replay it
     * @throws UnsupportedOperationException if the store cannot forget keys
     * @throws org.idempotency.api.InvalidIdempotencyKeyException if the operation name or key breaks a rule
     * @throws org.idempotency.api.IdempotencyStoreException if the store fails
     */
    public ForgetOutcome forget(String operation, String key) {
        return operation(operation).forget(key);
    }

    /**
     * How long another node's replay cache may still answer for a key after it was forgotten here (or anywhere):
     * the configured maximum age of cache entries ({@link Builder#replayCacheMaxAge}), or zero without a cache.
     * Every node of a service should use the same setting.
     *
     * @return the bound, zero if this engine has no replay cache
     */
    public Duration replayCacheMaxAge() {
        return replayCache == null ? Duration.ZERO : replayCache.maxAge();
    }

    /**
     * The store this engine runs over.
     *
     * @return the store that holds this engine's records
     */
    public IdempotencyStore store() {
        return store;
    }

    /**
     * The lease of new executions.
     *
     * @return the lease an owned execution starts with
     */
    public Duration lease() {
        return lease;
    }

    /**
     * How long finished records are kept.
     *
     * @return the retention of completed and failed records
     */
    public Duration retention() {
        return retention;
    }

    /**
     * Stops lease renewal and purging, without waiting for store calls in flight. Work still running keeps its
     * lease until it expires, as if its process had stopped.
     */
    @Override
    public void close() {
        renewer.close();
        if (purger != null) {
            purger.close();
        }
    }

    void emit(IdempotencyEvent.Type type, String operation, String key, long token, long startNanos,
            @Nullable Throwable error) {
        if (listeners.length == 0) {
            return;
        }
        IdempotencyEvent event = new IdempotencyEvent(type, operation, key, token,
                Duration.ofNanos(System.nanoTime() - startNanos), error);
        for (IdempotencyListener listener : listeners) {
            try {
                listener.onEvent(event);
            } catch (Throwable e) { // an Error too: a listener must never end a renewal or change an outcome
                LOG.warn("Idempotency listener {} failed on {} event; ignored", listener, type, e);
            }
        }
    }

    /**
     * Configures an {@link Idempotency}. Each setter validates its argument; {@link #build()} checks that the
     * settings fit together. Not thread-safe.
     */
    public static final class Builder {
        private final IdempotencyStore store;
        private @Nullable ResultCodec codec;
        private Duration lease = Duration.ofSeconds(30);
        private Duration retention = Duration.ofHours(24);
        private @Nullable Duration renewInterval;
        private @Nullable Duration renewalTimeout;
        private Duration maxExecutionTime = Duration.ofHours(1);
        private Duration inProgressWait = Duration.ZERO;
        private Duration pollInterval = Duration.ofMillis(20);
        private Predicate<Throwable> permanentFailure = error -> false;
        private int maxResultBytes = 1024 * 1024;
        private boolean failOpen;
        private final List<IdempotencyListener> listeners = new ArrayList<>();
        private @Nullable IdempotencyObserver observer;
        private final List<Class<?>> resultTypes = new ArrayList<>();
        private Duration purgeInterval = Duration.ofMinutes(1);
        private int replayCacheEntries;
        private long replayCacheBytes;
        private Duration replayCacheMaxAge = Duration.ofMinutes(1);
        private Duration replayCacheClockSkew = Duration.ofSeconds(1);

        private Builder(IdempotencyStore store) {
            this.store = Objects.requireNonNull(store, "store must not be null");
        }

        /**
         * How long an execution owns its key before another may take it over, if it is not renewed (default
         * 30 s). Renewal runs in the background while the work runs, so this bounds how long a crashed owner
         * blocks the key, not how long work may take.
         *
         * @param lease positive
         * @return this builder
         */
        public Builder lease(Duration lease) {
            this.lease = positive("lease", lease);
            return this;
        }

        /**
         * How long completed and failed records are kept and replayed (default 24 h).
         *
         * @param retention positive
         * @return this builder
         */
        public Builder retention(Duration retention) {
            this.retention = positive("retention", retention);
            return this;
        }

        /**
         * How often a running execution renews its lease (default: a third of the lease). A renewal can be late by
         * up to the lease minus this interval before the lease is at risk (see the class description).
         *
         * @param renewInterval shorter than the lease
         * @return this builder
         */
        public Builder renewInterval(Duration renewInterval) {
            this.renewInterval = positive("renewInterval", renewInterval);
            return this;
        }

        /**
         * How long one renewal call may take before it is tried again beside it (default: half the renewal
         * interval). The call itself is not cancelled; it keeps its thread until the store answers.
         *
         * @param renewalTimeout positive and shorter than the lease
         * @return this builder
         */
        public Builder renewalTimeout(Duration renewalTimeout) {
            this.renewalTimeout = positive("renewalTimeout", renewalTimeout);
            return this;
        }

        /**
         * The longest an owned execution is kept alive (default 1 h). Past it, its lease is no longer renewed, so a
         * key held by a caller that never finishes its execution frees itself one lease later; the execution's
         * lease counts as lost ({@link Execution#isLeaseLost()}) and a {@code LEAKED} event and a WARN line report
         * it. Set it above the longest work you run.
         *
         * @param maxExecutionTime longer than the lease
         * @return this builder
         */
        public Builder maxExecutionTime(Duration maxExecutionTime) {
            this.maxExecutionTime = positive("maxExecutionTime", maxExecutionTime);
            return this;
        }

        /**
         * How long a duplicate waits for a running execution to finish before answering "in progress"
         * (default zero: answer at once). While waiting it polls, replays the result when it appears, and
         * takes the work over if the owner's lease expires.
         *
         * @param maxWait zero (answer at once) or positive
         * @return this builder
         */
        public Builder waitForInProgress(Duration maxWait) {
            Objects.requireNonNull(maxWait, "waitForInProgress must not be null");
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("waitForInProgress must be zero or positive, was " + maxWait);
            }
            this.inProgressWait = maxWait;
            return this;
        }

        /**
         * The first polling delay while waiting for a running execution; it doubles up to 10 times this.
         *
         * @param pollInterval positive
         * @return this builder
         */
        public Builder pollInterval(Duration pollInterval) {
            this.pollInterval = positive("pollInterval", pollInterval);
            return this;
        }

        /**
         * Which exceptions are permanent: they are recorded as FAILED and replayed to later callers (error type
         * and message only). Any other exception releases the key so a retry runs the work again (the
         * default for every exception).
         *
         * @param permanentFailure tests an exception; {@code true} records it as FAILED
         * @return this builder
         */
        public Builder permanentFailure(Predicate<Throwable> permanentFailure) {
            this.permanentFailure = Objects.requireNonNull(permanentFailure, "permanentFailure must not be null");
            return this;
        }

        /**
         * The largest encoded result kept (default 1 MiB). A larger result still closes the record, so the
         * work is not run again, but replays get {@link org.idempotency.api.IdempotencyResultNotKeptException}.
         *
         * @param maxResultBytes in bytes; positive
         * @return this builder
         */
        public Builder maxResultBytes(int maxResultBytes) {
            if (maxResultBytes <= 0) {
                throw new IllegalArgumentException("maxResultBytes must be positive, was " + maxResultBytes);
            }
            this.maxResultBytes = maxResultBytes;
            return this;
        }

        /**
         * Whether to run the work unprotected when the store cannot be reached to acquire the key (default
         * false: fail closed with {@link org.idempotency.api.IdempotencyStoreException}). Each such run is
         * reported as an {@code UNPROTECTED} event and a WARN log line.
         *
         * @param failOpen {@code true} to run unprotected, {@code false} to fail closed
         * @return this builder
         */
        public Builder failOpen(boolean failOpen) {
            this.failOpen = failOpen;
            return this;
        }

        /**
         * The result codec (default: {@link JacksonResultCodec#create()}).
         *
         * @param codec the codec that encodes results and decodes replays
         * @return this builder
         */
        public Builder codec(ResultCodec codec) {
            this.codec = Objects.requireNonNull(codec, "codec must not be null");
            return this;
        }

        /**
         * Lists classes that {@link Idempotency#execute} may store and replay, besides the JDK value types it
         * accepts by default. Only listed classes are ever instantiated from stored bytes. Each is checked by the
         * codec when the engine is built.
         *
         * @param types concrete classes, such as {@code Order.class}
         * @return this builder
         */
        public Builder resultTypes(Class<?>... types) {
            for (Class<?> type : types) {
                Objects.requireNonNull(type, "resultTypes must not contain null");
                if (type.isPrimitive() || type.isInterface() || Modifier.isAbstract(type.getModifiers())
                        || type.isArray()) {
                    throw new IllegalArgumentException("resultTypes must be concrete classes (results are stored"
                            + " under their own class); got " + type.getTypeName()
                            + (type.isPrimitive() ? ": list its box, such as java.lang.Integer for int" : ""));
                }
                resultTypes.add(type);
            }
            return this;
        }

        /**
         * Adds a listener for every outcome.
         *
         * @param listener called with every outcome
         * @return this builder
         */
        public Builder listener(IdempotencyListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
            return this;
        }

        /**
         * Installs the hook that metrics and tracing use to observe every execution and store call (such as
         * {@code idempotency-micrometer}'s). One observer per engine; a second call replaces the first. Without
         * one, nothing is observed and nothing is paid for.
         *
         * @param observer the observer
         * @return this builder
         */
        public Builder observer(IdempotencyObserver observer) {
            this.observer = Objects.requireNonNull(observer, "observer must not be null");
            return this;
        }

        /**
         * How often expired records are purged, for stores that need it ({@link PurgeableIdempotencyStore},
         * default every minute); {@link Duration#ZERO} turns purging off.
         *
         * @param purgeInterval positive, or {@link Duration#ZERO} to turn purging off
         * @return this builder
         */
        public Builder purgeInterval(Duration purgeInterval) {
            Objects.requireNonNull(purgeInterval, "purgeInterval must not be null");
            if (purgeInterval.isNegative()) {
                throw new IllegalArgumentException("purgeInterval must be zero (off) or positive, was "
                        + purgeInterval);
            }
            this.purgeInterval = purgeInterval;
            return this;
        }

        /**
         * Turns on this node's replay cache (off by default): a completed or failed record seen once here
         * (completed by this node, or replayed from the store) is answered from memory until it expires, without a
         * store call. The request-hash check still applies (a key reused with another request is refused from the
         * cache too), a failure is replayed as {@link org.idempotency.api.IdempotencyReplayedFailureException},
         * and listeners see the same events. An entry never outlives its record (see
         * {@link #replayCacheClockSkew}) nor the {@link #replayCacheMaxAge maximum age}. Completions written
         * through a {@link CompletionWriter} (in the caller's transaction, which may roll back) are not cached.
         *
         * <p>The trade-off: a key forgotten ({@link IdempotentOperation#forget}) on one node is still replayed by
         * the other nodes' caches until their entries reach the maximum age.
         *
         * @param maxEntries the most records kept; positive
         * @param maxBytes the most bytes kept (payloads, failure texts and keys, plus about
         *     {@value ReplayCache#ENTRY_OVERHEAD_BYTES} bytes an entry); positive
         * @return this builder
         */
        public Builder replayCache(int maxEntries, long maxBytes) {
            if (maxEntries <= 0) {
                throw new IllegalArgumentException("replayCache maxEntries must be positive, was " + maxEntries);
            }
            if (maxBytes <= 0) {
                throw new IllegalArgumentException("replayCache maxBytes must be positive, was " + maxBytes);
            }
            this.replayCacheEntries = maxEntries;
            this.replayCacheBytes = maxBytes;
            return this;
        }

        /**
         * The longest a replay-cache entry lives (default 1 min): the bound on how long another node may still
         * replay a key forgotten elsewhere, or a record an administrator removed from the store by hand.
         *
         * @param maxAge positive
         * @return this builder
         */
        public Builder replayCacheMaxAge(Duration maxAge) {
            this.replayCacheMaxAge = positive("replayCacheMaxAge", maxAge);
            return this;
        }

        /**
         * How far the store's clock may be ahead of this node's wall clock (default 1 s). A record read from the
         * store carries its end by the store's clock; the cache keeps it until that end, by this node's clock,
         * less this margin, so an entry never outlives its record while the clocks differ by less. Records read
         * within this margin of their end are not cached.
         *
         * @param clockSkew zero or positive
         * @return this builder
         */
        public Builder replayCacheClockSkew(Duration clockSkew) {
            Objects.requireNonNull(clockSkew, "replayCacheClockSkew must not be null");
            if (clockSkew.isNegative()) {
                throw new IllegalArgumentException("replayCacheClockSkew must be zero or positive, was " + clockSkew);
            }
            this.replayCacheClockSkew = clockSkew;
            return this;
        }

        /**
         * Builds the engine.
         *
         * @return the engine, with its renewal (and, for stores that need it, purge) threads started
         * @throws IllegalArgumentException if the lease is longer than the retention, the renewal interval or
         *     timeout is not shorter than the lease, or the maximum execution time is not longer than the lease
         */
        public Idempotency build() {
            if (lease.compareTo(retention) > 0) {
                throw new IllegalArgumentException("the lease (" + lease + ") must not be longer than the retention ("
                        + retention + ")");
            }
            if (renewInterval != null && renewInterval.compareTo(lease) >= 0) {
                throw new IllegalArgumentException("the renewInterval (" + renewInterval
                        + ") must be shorter than the lease (" + lease + ")");
            }
            if (renewalTimeout != null && renewalTimeout.compareTo(lease) >= 0) {
                throw new IllegalArgumentException("the renewalTimeout (" + renewalTimeout
                        + ") must be shorter than the lease (" + lease + ")");
            }
            if (maxExecutionTime.compareTo(lease) <= 0) {
                throw new IllegalArgumentException("the maxExecutionTime (" + maxExecutionTime
                        + ") must be longer than the lease (" + lease + ")");
            }
            return new Idempotency(this);
        }

        private static Duration positive(String name, Duration value) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + value);
            }
            return value;
        }
    }
}
