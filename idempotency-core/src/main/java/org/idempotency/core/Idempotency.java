package org.idempotency.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
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
 * <p>An instance holds the configuration and one daemon thread that renews leases of running work and, for
 * stores that need it, purges expired records. Create one per store and share it; {@link #close()} stops the
 * thread. Operation handles ({@link #operation}) are cheap and typed; create them once and keep them.
 *
 * <p>Thread-safe.
 */
public final class Idempotency implements AutoCloseable {

    static final Logger LOG = LoggerFactory.getLogger(Idempotency.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    final IdempotencyStore store;
    final ResultCodec codec;
    final Duration lease;
    final Duration retention;
    final Duration renewInterval;
    final long inProgressWaitNanos;
    final long pollIntervalNanos;
    final Predicate<Throwable> permanentFailure;
    final int maxResultBytes;
    final boolean failOpen;
    final IdempotencyListener[] listeners;
    final ScheduledExecutorService scheduler;
    private final boolean ownsScheduler;
    final LeaseRenewer renewer;
    private final @Nullable PurgeScheduler purger;

    private Idempotency(Builder b) {
        this.store = b.store;
        this.codec = b.codec != null ? b.codec : JacksonResultCodec.create();
        this.lease = b.lease;
        this.retention = b.retention;
        this.renewInterval = b.renewInterval != null ? b.renewInterval : b.lease.dividedBy(3);
        this.inProgressWaitNanos = b.inProgressWait.toNanos();
        this.pollIntervalNanos = b.pollInterval.toNanos();
        this.permanentFailure = b.permanentFailure;
        this.maxResultBytes = b.maxResultBytes;
        this.failOpen = b.failOpen;
        this.listeners = b.listeners.toArray(new IdempotencyListener[0]);
        if (b.scheduler != null) {
            this.scheduler = b.scheduler;
            this.ownsScheduler = false;
        } else {
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, daemonThreads());
            executor.setRemoveOnCancelPolicy(true);
            executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            this.scheduler = executor;
            this.ownsScheduler = true;
        }
        this.renewer = new LeaseRenewer(scheduler, renewInterval.toNanos());
        Duration purgeInterval = b.purgeInterval;
        this.purger = store instanceof PurgeableIdempotencyStore purgeable && !purgeInterval.isZero()
                ? PurgeScheduler.start(purgeable, purgeInterval, scheduler)
                : null;
    }

    /** Starts configuring an engine over a store. */
    public static Builder builder(IdempotencyStore store) {
        return new Builder(store);
    }

    /**
     * A typed handle for one operation. The name namespaces the keys (stored as {@code name:key}), so two
     * operations never share a key; the type is what replays decode into.
     *
     * @param name 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}
     * @throws org.idempotency.api.InvalidIdempotencyKeyException if the name breaks the rule
     */
    public <T> IdempotentOperation<T> operation(String name, Class<T> type) {
        return operation(name, TypeRef.of(type));
    }

    /**
     * A typed handle for an operation with a generic result, such as
     * {@code operation("list-orders", new TypeRef<List<Order>>() {})}.
     */
    public <T> IdempotentOperation<T> operation(String name, TypeRef<T> type) {
        return new IdempotentOperation<>(this, IdempotencyKeys.validateOperation(name), type);
    }

    /** A handle for an operation without a result: use {@link IdempotentOperation#run}. */
    public IdempotentOperation<Void> operation(String name) {
        return operation(name, Void.class);
    }

    /** The store this engine runs over. */
    public IdempotencyStore store() {
        return store;
    }

    /** The lease of new executions. */
    public Duration lease() {
        return lease;
    }

    /** How long finished records are kept. */
    public Duration retention() {
        return retention;
    }

    /**
     * Stops lease renewal and purging. Work still running keeps its lease until it expires. The scheduler is
     * shut down only if this engine created it.
     */
    @Override
    public void close() {
        renewer.close();
        if (purger != null) {
            purger.close();
        }
        if (ownsScheduler) {
            scheduler.shutdownNow();
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
            } catch (RuntimeException e) {
                LOG.warn("Idempotency listener {} failed on {} event; ignored", listener, type, e);
            }
        }
    }

    private static ThreadFactory daemonThreads() {
        return runnable -> {
            Thread thread = new Thread(runnable, "idempotency-lease-renewal-" + THREADS.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
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
        private Duration inProgressWait = Duration.ZERO;
        private Duration pollInterval = Duration.ofMillis(20);
        private Predicate<Throwable> permanentFailure = error -> false;
        private int maxResultBytes = 1024 * 1024;
        private boolean failOpen;
        private final List<IdempotencyListener> listeners = new ArrayList<>();
        private @Nullable ScheduledExecutorService scheduler;
        private Duration purgeInterval = Duration.ofMinutes(1);

        private Builder(IdempotencyStore store) {
            this.store = Objects.requireNonNull(store, "store must not be null");
        }

        /**
         * How long an execution owns its key before another may take it over, if it is not renewed (default
         * 30 s). Renewal runs in the background while the work runs, so this bounds how long a crashed owner
         * blocks the key, not how long work may take.
         */
        public Builder lease(Duration lease) {
            this.lease = positive("lease", lease);
            return this;
        }

        /** How long completed and failed records are kept and replayed (default 24 h). */
        public Builder retention(Duration retention) {
            this.retention = positive("retention", retention);
            return this;
        }

        /** How often a running execution renews its lease (default: a third of the lease). */
        public Builder renewInterval(Duration renewInterval) {
            this.renewInterval = positive("renewInterval", renewInterval);
            return this;
        }

        /**
         * How long a duplicate waits for a running execution to finish before answering "in progress"
         * (default zero: answer at once). While waiting it polls, replays the result when it appears, and
         * takes the work over if the owner's lease expires.
         */
        public Builder waitForInProgress(Duration maxWait) {
            Objects.requireNonNull(maxWait, "waitForInProgress must not be null");
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("waitForInProgress must be zero or positive, was " + maxWait);
            }
            this.inProgressWait = maxWait;
            return this;
        }

        /** The first polling delay while waiting for a running execution; it doubles up to 10 times this. */
        public Builder pollInterval(Duration pollInterval) {
            this.pollInterval = positive("pollInterval", pollInterval);
            return this;
        }

        /**
         * Which exceptions are permanent: they are recorded as FAILED and replayed to later callers (error type
         * and message only). Any other exception releases the key so a retry runs the work again (the
         * default for every exception).
         */
        public Builder permanentFailure(Predicate<Throwable> permanentFailure) {
            this.permanentFailure = Objects.requireNonNull(permanentFailure, "permanentFailure must not be null");
            return this;
        }

        /**
         * The largest encoded result kept (default 1 MiB). A larger result still closes the record, so the
         * work is not run again, but replays get {@link org.idempotency.api.IdempotencyResultNotKeptException}.
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
         */
        public Builder failOpen(boolean failOpen) {
            this.failOpen = failOpen;
            return this;
        }

        /** The result codec (default: {@link JacksonResultCodec#create()}). */
        public Builder codec(ResultCodec codec) {
            this.codec = Objects.requireNonNull(codec, "codec must not be null");
            return this;
        }

        /** Adds a listener for every outcome. */
        public Builder listener(IdempotencyListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
            return this;
        }

        /**
         * Runs lease renewal and purging on the application's scheduler instead of a thread of the engine's
         * own; the engine does not shut it down.
         */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
            return this;
        }

        /**
         * How often expired records are purged, for stores that need it ({@link PurgeableIdempotencyStore},
         * default every minute); {@link Duration#ZERO} turns purging off.
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
         * Builds the engine.
         *
         * @throws IllegalArgumentException if the lease is longer than the retention, or the renewal interval
         *     is not shorter than the lease
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
