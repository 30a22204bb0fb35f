package org.idempotency.spring.boot.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the application's {@link IdempotentConsumerLoop} beans while the application runs: each on a thread of its
 * own (named after its bean), started when the context starts, closed when it stops (the record in progress is
 * finished, finished records are committed, the consumer is closed). A loop that fails is logged; the others go
 * on.
 *
 * <p>The Kafka module runs on kafka-clients 3.9 and newer, so on the version Spring Boot 3.5 manages too; building a
 * loop on an older one fails with a message naming the version needed.
 *
 * <p>Thread-safe.
 */
public class IdempotentConsumerLoops implements SmartLifecycle {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotentConsumerLoops.class);

    private final Map<String, IdempotentConsumerLoop<?, ?>> loops;
    private final Duration shutdownTimeout;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running;

    /**
     * Runs loops.
     *
     * @param loops the loops by bean name
     * @param shutdownTimeout how long stopping waits for each loop
     */
    public IdempotentConsumerLoops(Map<String, IdempotentConsumerLoop<?, ?>> loops, Duration shutdownTimeout) {
        this.loops = Map.copyOf(loops);
        this.shutdownTimeout = Objects.requireNonNull(shutdownTimeout, "shutdownTimeout must not be null");
    }

    @Override
    public void start() {
        if (running) {
            return;
        }
        running = true;
        loops.forEach((name, loop) -> {
            Thread thread = new Thread(() -> {
                try {
                    loop.run();
                } catch (RuntimeException | Error e) {
                    LOG.error("Idempotent consumer loop '{}' stopped with a failure", name, e);
                }
            }, "idempotent-consumer-" + name);
            thread.setDaemon(false);
            threads.add(thread);
            thread.start();
            LOG.debug("Started idempotent consumer loop '{}'", name);
        });
    }

    @Override
    public void stop() {
        if (!running) {
            return;
        }
        running = false;
        loops.values().forEach(IdempotentConsumerLoop::wakeup);
        loops.forEach((name, loop) -> {
            try {
                if (!loop.awaitTermination(shutdownTimeout)) {
                    LOG.warn("Idempotent consumer loop '{}' did not stop within {}; its handler is still running",
                            name, shutdownTimeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        threads.clear();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Stops early, before the beans the handlers use (the engine, the store) are destroyed. */
    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE - 1024;
    }
}
