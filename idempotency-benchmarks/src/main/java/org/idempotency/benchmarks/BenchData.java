package org.idempotency.benchmarks;

import java.util.List;
import java.util.UUID;

/** What every store benchmark shares: the result, the request hash, how keys are made and where services are. */
final class BenchData {

    /** A typical small result. */
    public record Order(String id, String customer, long amountCents, List<String> items) {
    }

    static final Order ORDER = new Order("ord-1", "cust-42", 1999, List.of("book", "pen"));

    static final String HASH = "5d41402abc4b2a76b9719d911017c592ae4f1a5b0c4c6f5c7e2b1f9a3c2d1e0f";

    /**
     * In the contention cases this many consecutive calls, from whichever threads make them, share one key: with
     * 8 threads they arrive together, one claims the key and the others find it in progress or completed; with
     * one thread the first call runs the work and the next seven replay it.
     */
    static final int CALLS_PER_CONTENDED_KEY = 8;

    private BenchData() {
    }

    /** The key of the {@code n}-th call of a contention case. */
    static String contendedKey(String prefix, long n) {
        return prefix + "c" + (n / CALLS_PER_CONTENDED_KEY);
    }

    /** A short name of this run, so that keys and tables of concurrent or earlier runs never meet. */
    static String runId() {
        return UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    static String redisAddress() {
        return System.getenv().getOrDefault("IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379");
    }

    static String postgresUrl() {
        return System.getenv().getOrDefault("IDEMPOTENCY_POSTGRES_URL",
                "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    }
}
