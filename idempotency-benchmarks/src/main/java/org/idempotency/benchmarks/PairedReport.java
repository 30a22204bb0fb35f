package org.idempotency.benchmarks;

import static org.idempotency.benchmarks.KafkaConsumerBenchmark.BATCH;
import static org.idempotency.benchmarks.KafkaConsumerBenchmark.CLAIMS_ONLY;
import static org.idempotency.benchmarks.KafkaConsumerBenchmark.ESSENTIAL;
import static org.idempotency.benchmarks.KafkaConsumerBenchmark.PER_RECORD;
import static org.idempotency.benchmarks.KafkaConsumerBenchmark.RAW;
import static org.idempotency.benchmarks.KafkaConsumerBenchmark.cpu;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.idempotency.benchmarks.PairedStats.Summary;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The part of {@link BenchmarkReport} measured in paired rounds outside JMH, on loopback: the replay cache
 * ({@link ReplayCacheBenchmark#pairedRounds}) on Redis and PostgreSQL, and the Kafka loop
 * ({@link KafkaConsumerBenchmark#pairedRounds}) on the in-memory store, Redis and PostgreSQL. Each round runs
 * every case of one benchmark once, in a rotating order, and the ratios are taken per round, so load from other
 * processes falls on all of them alike. Renders a section of the report and the rows of its targets table.
 */
final class PairedReport {

    /** How many rounds and how much work per round; the defaults take about ten minutes. */
    record Settings(int replayRounds, int replayCalls, int memoryRounds, int memoryRecords, int storeRounds,
            int storeRecords) {
        static final Settings DEFAULT = new Settings(15, 2_000, 25, 100_000, 6, 20_000);

        /** The same work per round, with {@code rounds} measured rounds of every case. */
        Settings rounds(int rounds) {
            return new Settings(rounds, replayCalls, rounds, memoryRecords, rounds, storeRecords);
        }
    }

    private final StringBuilder section = new StringBuilder();
    private final StringBuilder targets = new StringBuilder();

    private PairedReport() {
    }

    /** Runs every paired case and returns the report's parts. */
    static PairedReport run(Settings settings) throws Exception {
        PairedReport report = new PairedReport();
        report.replayCache(settings);
        report.kafka(settings);
        return report;
    }

    /** The section for the report's body. */
    String section() {
        return section.toString();
    }

    /** Rows for the targets table: target, measured ratio ± interval, verdict, median ratio. */
    String targetRows() {
        return targets.toString();
    }

    private void replayCache(Settings settings) {
        section.append("\n## The replay cache (paired rounds, loopback)\n\n")
                .append(String.format(Locale.ROOT, "`ReplayCacheBenchmark`: %d measured rounds after 3 warm-up"
                        + " rounds, each %,d calls a case: the raw read of a completed key's result (`GET`; a"
                        + " primary-key `SELECT`), `execute` of a completed key without the replay cache, and with"
                        + " it (`replayCache(10000, 16 MiB)`).%n%n", settings.replayRounds(), settings.replayCalls()))
                .append("| store | floor, µs a call | uncached replay, µs | cached replay, µs |"
                        + " cached / floor (throughput) |\n|---|---|---|---|---|\n");
        for (String store : List.of("redis", "postgresql")) {
            List<double[]> rounds = ReplayCacheBenchmark.pairedRounds(store, settings.replayRounds(), 3,
                    settings.replayCalls(), false);
            String name = store.equals("redis") ? "Redis" : "PostgreSQL";
            Summary ratio = PairedStats.of(rounds, m -> m[0] / m[2]);
            section.append("| ").append(name)
                    .append(" | ").append(cell(rounds, m -> m[0], "%.2f"))
                    .append(" | ").append(cell(rounds, m -> m[1], "%.2f"))
                    .append(" | ").append(cell(rounds, m -> m[2], "%.3f"))
                    .append(" | ").append(cell(rounds, m -> m[0] / m[2], "%.1f")).append(" |\n");
            target(name + " replay answered by the replay cache ≥ 10× the floor (loopback)", ratio, 10);
        }
    }

    private void kafka(Settings settings) throws Exception {
        section.append("\n## The Kafka loop (paired rounds, loopback)\n\n")
                .append("`KafkaConsumerBenchmark`, one broker in the report's JVM: the same records consumed by"
                        + " the raw kafka-clients loop and by `IdempotentConsumerLoop` with batch claims (its"
                        + " default), with batch claims and batch completions (`batchCompletions(true)`), and with"
                        + " per-record claims and batch completions; on the in-memory store also the essential-work"
                        + " loop (the raw loop plus only the work no deduplicating loop can skip: the message id, the"
                        + " payload's SHA-256, an insert and a compare-and-set in a concurrent map per record), the"
                        + " floor such a loop can approach. Records per second, and each loop's over the raw loop's in"
                        + " the same round; the last column is the CPU time of the loop's thread per record, raw loop"
                        + " and loop with batch completions (the rest of a pass is spent waiting for fetches, the"
                        + " broker's threads and the collector). The in-memory rounds start after 20 warm-up rounds,"
                        + " the others after 2.\n\n")
                .append("| store | rounds × records | raw loop, rec/s | default loop, rec/s | / raw |"
                        + " batch completions, rec/s | / raw | per-record claims, rec/s | / raw |"
                        + " essential work, rec/s | / raw | loop thread CPU, ns/rec: raw, batch completions |\n"
                        + "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        kafkaStore("memory", "in-memory", settings.memoryRounds(), 20, settings.memoryRecords(), true);
        String run = BenchData.runId();
        String redisPrefix = "idempotency-kafka-bench-" + run + ":";
        System.setProperty("idempotency.redis.address", BenchData.redisAddress());
        System.setProperty("idempotency.redis.key-prefix", redisPrefix);
        try {
            kafkaStore("redis", "Redis", settings.storeRounds(), 2, settings.storeRecords(), false);
        } finally {
            unlinkRedisKeys(redisPrefix);
        }
        String table = "idem_kafka_bench_" + run;
        System.setProperty("idempotency.jdbi.url", BenchData.postgresUrl());
        System.setProperty("idempotency.jdbi.table", table);
        System.setProperty("idempotency.jdbi.create-schema", "true");
        try {
            kafkaStore("jdbi", "PostgreSQL", settings.storeRounds(), 2, settings.storeRecords(), false);
        } finally {
            dropTable(table);
        }
    }

    private void kafkaStore(String store, String name, int rounds, int warmup, int records, boolean hasTarget)
            throws Exception {
        List<double[]> measured = KafkaConsumerBenchmark.pairedRounds(store, rounds, warmup, records, false);
        boolean essential = !Double.isNaN(measured.get(0)[ESSENTIAL]);
        section.append("| ").append(name)
                .append(String.format(Locale.ROOT, " | %d × %,d", rounds, records))
                .append(" | ").append(cell(measured, m -> records / m[RAW], "%,.0f"))
                .append(" | ").append(cell(measured, m -> records / m[CLAIMS_ONLY], "%,.0f"))
                .append(" | ").append(cell(measured, m -> m[RAW] / m[CLAIMS_ONLY], "%.2f"))
                .append(" | ").append(cell(measured, m -> records / m[BATCH], "%,.0f"))
                .append(" | ").append(cell(measured, m -> m[RAW] / m[BATCH], "%.2f"))
                .append(" | ").append(cell(measured, m -> records / m[PER_RECORD], "%,.0f"))
                .append(" | ").append(cell(measured, m -> m[RAW] / m[PER_RECORD], "%.2f"))
                .append(" | ").append(essential ? cell(measured, m -> records / m[ESSENTIAL], "%,.0f") : "—")
                .append(" | ").append(essential ? cell(measured, m -> m[RAW] / m[ESSENTIAL], "%.2f") : "—")
                .append(" | ").append(cell(measured, m -> m[cpu(RAW)] * 1e9 / records, "%,.0f")).append("; ")
                .append(cell(measured, m -> m[cpu(BATCH)] * 1e9 / records, "%,.0f")).append(" |\n");
        if (hasTarget) {
            target("Kafka loop on the " + name + " store ≥ 0.6× the raw loop (its default, batch claims)",
                    PairedStats.of(measured, m -> m[RAW] / m[CLAIMS_ONLY]), 0.6);
            target("Kafka loop on the " + name + " store ≥ 0.6× the raw loop (batch claims and completions)",
                    PairedStats.of(measured, m -> m[RAW] / m[BATCH]), 0.6);
            if (essential) {
                Summary floor = PairedStats.of(measured, m -> m[RAW] / m[ESSENTIAL]);
                targets.append(String.format(Locale.ROOT, "| The essential work alone on the %s store, for"
                        + " comparison: reported | %.2f ± %.2f | reported | %.2f |%n", name, floor.mean(),
                        floor.halfWidth(), floor.median()));
            }
        } else {
            Summary ratio = PairedStats.of(measured, m -> m[RAW] / m[BATCH]);
            targets.append(String.format(Locale.ROOT, "| Kafka loop on %s, batch claims and completions:"
                    + " reported | %.2f ± %.2f | reported | %.2f |%n", name, ratio.mean(), ratio.halfWidth(),
                    ratio.median()));
        }
    }

    private void target(String description, Summary ratio, double min) {
        targets.append(String.format(Locale.ROOT, "| %s | %.2f ± %.2f | %s | %.2f |%n", description, ratio.mean(),
                ratio.halfWidth(), BenchmarkReport.verdict(ratio.mean(), ratio.halfWidth(), min), ratio.median()));
    }

    /** Mean ± half-width (median), in the given format. */
    private static String cell(List<double[]> rounds, ToDoubleFunction<double[]> value, String format) {
        Summary summary = PairedStats.of(rounds, value);
        return String.format(Locale.ROOT, format + " ± " + format + " (" + format + ")", summary.mean(),
                summary.halfWidth(), summary.median());
    }

    private static void unlinkRedisKeys(String prefix) {
        Config config = new Config();
        config.useSingleServer().setAddress(BenchData.redisAddress());
        RedissonClient client = Redisson.create(config);
        try {
            client.getKeys().unlinkByPattern(prefix + "*");
        } finally {
            client.shutdown();
        }
    }

    private static void dropTable(String table) throws Exception {
        try (Connection connection = DriverManager.getConnection(BenchData.postgresUrl());
                Statement statement = connection.createStatement()) {
            statement.execute("DROP TABLE IF EXISTS " + table + " CASCADE");
        }
    }
}
