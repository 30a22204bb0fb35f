package org.idempotency.benchmarks;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs every store benchmark ({@link InMemoryBenchmark}, {@link RedisBenchmark}, {@link PostgresBenchmark}) with
 * 1 and 8 threads, the Redis and PostgreSQL ones on loopback and through a {@link LatencyProxy} adding 200 µs
 * each way, then the allocation run (JMH's GC profiler) and the paired rounds of the replay cache and the Kafka
 * loop ({@link PairedReport}), and writes one Markdown report: for each case, ours
 * next to its floor (and the seed design's flow or Camel's repository where they overlap), with ops/s, p50 and
 * p99 latency and the throughput ratio to the floor, then the targets, each next to its measured ratio and that
 * ratio's interval. The report is printed and written to a file.
 *
 * <pre>
 * java -cp benchmarks.jar org.idempotency.benchmarks.BenchmarkReport [options]
 *   --out FILE            where the report goes (default benchmark-report.md)
 *   --threads 1,8         thread counts
 *   --include REGEX       which benchmarks (matched against Class.method), default all of the three stores
 *   --warmup N --iterations N --seconds N   per benchmark: warm-up and measured iterations, seconds each
 *   --pg-synchronous-commit on|off           PostgreSQL's synchronous_commit for the run (default off)
 *   --networks loopback,200us                the Redis and PostgreSQL networks (a delay each way, or loopback)
 *   --no-allocation       skip the allocation run
 *   --no-paired           skip the paired rounds (the replay cache and the Kafka loop, see PairedReport)
 *   --paired-rounds N     measured rounds of every paired case (defaults: 15 replay cache, 25 in-memory Kafka,
 *                         6 Kafka on Redis and PostgreSQL)
 * </pre>
 *
 * <p>Each benchmark runs twice per thread count: in JMH's throughput mode, for the ops/s of all threads together,
 * and in its sample-time mode, for the p50 and p99 latency of one call. Their means differ: timing single calls
 * of a fraction of a microsecond costs time of its own, and a rare long pause (a garbage collection) weighs
 * more in a sampled mean.
 */
public final class BenchmarkReport {

    private static final String ALL = "\\.(InMemoryBenchmark|RedisBenchmark|PostgresBenchmark)"
            + "\\.(firstCall|replay|contention|transactional|claim)\\w*$";
    private static final String ALLOCATION = "\\.(InMemoryBenchmark|RedisBenchmark)\\.(firstCall|replay)\\w*$";

    /** The cases in report order, with how the report names them. */
    private static final Map<String, String> CASES = new LinkedHashMap<>();

    static {
        CASES.put("firstCall", "first call (claim, work, complete)");
        CASES.put("replay", "replay of a completed key");
        CASES.put("contention", "8 calls per key, arriving together");
        CASES.put("transactional", "transactional completion, work inserts 1 row");
        CASES.put("claimNew", "claim a new message id (vs Camel)");
        CASES.put("claimDuplicate", "claim an id already claimed (vs Camel)");
        CASES.put("claimContended", "8 claims per id, arriving together (vs Camel)");
    }

    /** What each floor does, by store and case. */
    private static final Map<String, String> FLOORS = Map.of(
            "InMemory.firstCall", "putIfAbsent, encode, put",
            "InMemory.replay", "get, decode",
            "InMemory.contention", "putIfAbsent, then encode and put, or decode",
            "Redis.firstCall", "SET NX PX, SET XX PX",
            "Redis.replay", "GET",
            "Redis.contention", "SET NX PX, then SET XX PX or GET",
            "Postgres.firstCall", "INSERT ON CONFLICT DO NOTHING, UPDATE",
            "Postgres.replay", "SELECT by primary key",
            "Postgres.contention", "INSERT ON CONFLICT DO NOTHING, then UPDATE or SELECT",
            "Postgres.transactional", "the insert in its own transaction");

    private BenchmarkReport() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of("benchmark-report.md");
        List<Integer> threadCounts = List.of(1, 8);
        String include = ALL;
        int warmup = 3;
        int iterations = 5;
        int seconds = 1;
        String synchronousCommit = "off";
        boolean allocation = true;
        boolean paired = true;
        PairedReport.Settings pairedSettings = PairedReport.Settings.DEFAULT;
        List<String> networks = List.of("loopback", "200us");
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--threads" -> threadCounts = parseThreads(value(args, ++i, arg));
                case "--include" -> include = value(args, ++i, arg);
                case "--warmup" -> warmup = positive(value(args, ++i, arg), arg, 0);
                case "--iterations" -> iterations = positive(value(args, ++i, arg), arg, 1);
                case "--seconds" -> seconds = positive(value(args, ++i, arg), arg, 1);
                case "--pg-synchronous-commit" -> synchronousCommit = value(args, ++i, arg);
                case "--no-allocation" -> allocation = false;
                case "--no-paired" -> paired = false;
                case "--paired-rounds" ->
                        pairedSettings = pairedSettings.rounds(positive(value(args, ++i, arg), arg, 2));
                case "--networks" -> networks = parseNetworks(value(args, ++i, arg));
                default -> throw new IllegalArgumentException("unknown option " + arg
                        + "; options: --out, --threads, --include, --warmup, --iterations, --seconds,"
                        + " --pg-synchronous-commit, --networks, --no-allocation, --no-paired, --paired-rounds");
            }
        }
        if (!synchronousCommit.equals("on") && !synchronousCommit.equals("off")) {
            throw new IllegalArgumentException("--pg-synchronous-commit is on or off, was " + synchronousCommit);
        }

        String loadBefore = loadAverage();
        Instant started = Instant.now();
        List<String> proxyNotes = new ArrayList<>();
        for (String network : networks) {
            Duration delay = LatencyProxy.delayOf(network);
            if (!delay.isZero()) {
                InetSocketAddress redis = BenchData.redisSocket();
                proxyNotes.add("Through the proxy of `network=" + network + "`, "
                        + LatencyProxy.measurePing(redis.getHostString(), redis.getPort(), delay, 5_000)
                                .describe(delay) + ".");
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int threads : threadCounts) {
            ChainedOptionsBuilder options = options(include, threads, warmup, iterations, seconds)
                    .mode(Mode.Throughput)
                    .mode(Mode.SampleTime)
                    .param("synchronousCommit", synchronousCommit)
                    .param("network", networks.toArray(String[]::new));
            Map<String, RunResult> throughput = new HashMap<>();
            List<RunResult> samples = new ArrayList<>();
            for (RunResult result : new Runner(options.build()).run()) {
                if (result.getParams().getMode() == Mode.Throughput) {
                    throughput.put(Row.shortName(result), result);
                } else {
                    samples.add(result);
                }
            }
            for (RunResult sample : samples) {
                RunResult ops = throughput.get(Row.shortName(sample));
                if (ops != null) {
                    rows.add(Row.of(ops, sample, threads));
                }
            }
        }
        Map<String, Double> allocated = new TreeMap<>();
        if (allocation) {
            Collection<RunResult> results = new Runner(options(ALLOCATION, 1, warmup, iterations, seconds)
                    .param("network", "loopback")
                    .addProfiler(GCProfiler.class)
                    .build()).run();
            for (RunResult result : results) {
                double bytes = medianAllocation(result);
                if (!Double.isNaN(bytes)) {
                    allocated.put(Row.shortName(result), bytes);
                }
            }
        }
        PairedReport pairedReport = paired ? PairedReport.run(pairedSettings) : null;
        String report = render(rows, allocated, pairedReport, started, loadBefore, loadAverage(), threadCounts,
                networks, proxyNotes, warmup, iterations, seconds, synchronousCommit);
        Files.writeString(out, report, StandardCharsets.UTF_8);
        System.out.println();
        System.out.println(report);
        System.out.println("Written to " + out.toAbsolutePath());
        System.exit(0); // the Kafka broker of the paired rounds leaves threads that would keep the JVM up a while
    }

    /**
     * The median over the measured iterations of the bytes allocated per call. Not the mean: JMH runs a trial's
     * tear-down inside its last iteration, and the Redis and PostgreSQL tear-downs delete every key or table the run
     * wrote, which adds kilobytes per call to that one iteration.
     */
    private static double medianAllocation(RunResult result) {
        List<Double> perIteration = new ArrayList<>();
        for (BenchmarkResult benchmark : result.getBenchmarkResults()) {
            for (IterationResult iteration : benchmark.getIterationResults()) {
                iteration.getSecondaryResults().forEach((label, secondary) -> {
                    if (label.endsWith("gc.alloc.rate.norm")) {
                        perIteration.add(secondary.getScore());
                    }
                });
            }
        }
        if (perIteration.isEmpty()) {
            return Double.NaN;
        }
        perIteration.sort(null);
        int n = perIteration.size();
        return n % 2 == 1 ? perIteration.get(n / 2) : (perIteration.get(n / 2 - 1) + perIteration.get(n / 2)) / 2;
    }

    private static ChainedOptionsBuilder options(String include, int threads, int warmup, int iterations,
            int seconds) {
        return new OptionsBuilder()
                .include(include)
                .threads(threads)
                .warmupIterations(warmup)
                .warmupTime(TimeValue.seconds(seconds))
                .measurementIterations(iterations)
                .measurementTime(TimeValue.seconds(seconds))
                .forks(1)
                .shouldFailOnError(true);
    }

    /** One benchmark at one thread count: its throughput run and its sample-time run. */
    record Row(String store, String scenario, String variant, String network, int threads, double opsPerSecond,
            double opsError, double p50Micros, double p99Micros) {

        static Row of(RunResult throughput, RunResult sample, int threads) {
            String[] parts = throughput.getParams().getBenchmark().split("\\.");
            String name = parts[parts.length - 2] + "." + parts[parts.length - 1];
            String store = name.substring(0, name.indexOf('.')).replace("Benchmark", "");
            String method = name.substring(name.indexOf('.') + 1);
            String variant = "ours";
            for (String suffix : List.of("Floor", "Seed", "Camel")) {
                if (method.endsWith(suffix)) {
                    variant = suffix.toLowerCase(Locale.ROOT);
                    method = method.substring(0, method.length() - suffix.length());
                }
            }
            // throughput is in operations per time unit, samples in time units per operation
            double unitsPerSecond = (double) TimeUnit.SECONDS.toNanos(1)
                    / throughput.getParams().getTimeUnit().toNanos(1);
            double microsPerUnit = sample.getParams().getTimeUnit().toNanos(1) / 1000.0;
            Statistics stats = sample.getPrimaryResult().getStatistics();
            String network = throughput.getParams().getParam("network");
            return new Row(store, method, variant, network == null ? "loopback" : network, threads,
                    throughput.getPrimaryResult().getScore() * unitsPerSecond,
                    throughput.getPrimaryResult().getScoreError() * unitsPerSecond,
                    stats.getPercentile(50) * microsPerUnit, stats.getPercentile(99) * microsPerUnit);
        }

        /** {@code Class.method}, and the network unless it is loopback. */
        static String shortName(RunResult result) {
            String full = result.getParams().getBenchmark();
            String[] parts = full.split("\\.");
            String network = result.getParams().getParam("network");
            return parts[parts.length - 2] + "." + parts[parts.length - 1]
                    + (network == null || network.equals("loopback") ? "" : " (" + network + ")");
        }
    }

    private static String render(List<Row> rows, Map<String, Double> allocated, @Nullable PairedReport paired,
            Instant started,
            String loadBefore, String loadAfter, List<Integer> threadCounts, List<String> networks,
            List<String> proxyNotes, int warmup, int iterations, int seconds, String synchronousCommit) {
        StringBuilder md = new StringBuilder();
        md.append("Measured ").append(started.truncatedTo(ChronoUnit.MINUTES))
                .append(" on ").append(Runtime.getRuntime().availableProcessors()).append(" cores (")
                .append(System.getProperty("java.vm.name")).append(' ').append(System.getProperty("java.version"))
                .append("), load average ").append(loadBefore).append(" before and ").append(loadAfter)
                .append(" after; per benchmark ").append(warmup).append(" warm-up and ").append(iterations)
                .append(" measured iterations of ").append(seconds)
                .append(" s, one fork, in throughput and in sample-time mode, threads ")
                .append(threadCounts).append(", networks ").append(networks)
                .append("; PostgreSQL synchronous_commit=").append(synchronousCommit).append(".\n\n");
        for (String note : proxyNotes) {
            md.append(note).append("\n\n");
        }
        md.append("| store | network | case | threads | variant | ops/s | p50 (µs) | p99 (µs) | ratio to floor |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (String store : List.of("InMemory", "Redis", "Postgres")) {
            for (String network : networks) {
                for (Map.Entry<String, String> scenario : CASES.entrySet()) {
                    for (int threads : threadCounts) {
                        List<Row> group = group(rows, store, network, scenario.getKey(), threads);
                        if (group.isEmpty()) {
                            continue;
                        }
                        Row base = reference(group, scenario.getKey());
                        for (String variant : List.of("ours", "seed", "floor", "camel")) {
                            for (Row row : group) {
                                if (!row.variant().equals(variant)) {
                                    continue;
                                }
                                md.append("| ").append(storeName(store))
                                        .append(" | ").append(store.equals("InMemory") ? "" : network)
                                        .append(" | ").append(scenario.getValue())
                                        .append(" | ").append(threads)
                                        .append(" | ").append(variantName(variant, store, scenario.getKey()))
                                        .append(" | ").append(String.format(Locale.ROOT, "%,.0f", row.opsPerSecond()))
                                        .append(Double.isNaN(row.opsError()) ? "" : String.format(Locale.ROOT,
                                                " ± %,.0f", row.opsError()))
                                        .append(" | ").append(micros(row.p50Micros()))
                                        .append(" | ").append(micros(row.p99Micros()))
                                        .append(" | ").append(base == null ? "" : String.format(Locale.ROOT, "%.2f",
                                                row.opsPerSecond() / base.opsPerSecond()))
                                        .append(" |\n");
                            }
                        }
                    }
                }
            }
        }
        md.append("\nRatio: the row's ops/s over the floor's (over Camel's for the \"vs Camel\" cases), on the same"
                + " network and thread count; above 1 is faster. ops/s: all threads together, from the throughput"
                + " run (± its 99.9 % confidence half-width); p50 and p99: from the sample-time run, per call.\n");
        if (!allocated.isEmpty()) {
            md.append("\n| benchmark (1 thread, loopback) | bytes allocated per call (median of the iterations) |"
                    + "\n|---|---|\n");
            allocated.forEach((name, bytes) -> md.append("| `").append(name).append("` | ")
                    .append(String.format(Locale.ROOT, "%,.0f", bytes)).append(" |\n"));
        }
        if (paired != null) {
            md.append(paired.section());
        }
        targets(md, rows, allocated, paired == null ? "" : paired.targetRows());
        return md.toString();
    }

    private static List<Row> group(List<Row> rows, String store, String network, String scenario, int threads) {
        return rows.stream().filter(r -> r.store().equals(store) && r.network().equals(network)
                && r.scenario().equals(scenario) && r.threads() == threads).toList();
    }

    private static @Nullable Row reference(List<Row> group, String scenario) {
        String reference = scenario.startsWith("claim") ? "camel" : "floor";
        return group.stream().filter(r -> r.variant().equals(reference)).findFirst().orElse(null);
    }

    /**
     * A throughput target: {@code store}'s {@code scenario} on {@code network} with one thread, ours over
     * {@code against} (the floor, or the seed design's flow), at least {@code min}.
     */
    private record Target(String store, String network, String scenario, String against, double min,
            String description) {
    }

    /** The targets of the issue this suite answers: ratios of throughput, one thread. */
    private static final List<Target> TARGETS = List.of(
            new Target("Redis", "loopback", "firstCall", "floor", 0.85, "Redis first call ≥ 0.85× the floor"),
            new Target("Redis", "loopback", "replay", "floor", 0.85, "Redis replay ≥ 0.85× the floor"),
            new Target("Redis", "200us", "firstCall", "seed", 1.3,
                    "Redis first call ≥ 1.3× the seed design's flow, 200 µs each way"),
            new Target("Postgres", "loopback", "firstCall", "floor", 0.8, "PostgreSQL first call ≥ 0.8× the floor"),
            new Target("Postgres", "loopback", "replay", "floor", 0.9, "PostgreSQL replay ≥ 0.9× the floor"),
            new Target("Postgres", "200us", "firstCall", "floor", 0.9,
                    "PostgreSQL first call ≥ 0.9× the floor, 200 µs each way"),
            new Target("Postgres", "200us", "replay", "floor", 0.9,
                    "PostgreSQL replay ≥ 0.9× the floor, 200 µs each way"));

    /**
     * The allocation target: a Redis first call allocates at most the floor's bytes plus half the gap measured
     * before (10,632 against 5,498 bytes per call).
     */
    private static final double REDIS_ALLOCATION_GAP = (10_632 - 5_498) / 2.0;

    /**
     * The targets table: each target, the measured ratio with its interval, and whether it is met. The interval
     * is the ratio's 99.9 % confidence half-width propagated from the two throughput results' (relative errors
     * added in quadrature). "Met" needs the ratio at or above the target; when the interval reaches across the
     * target the verdict says so.
     */
    private static void targets(StringBuilder md, List<Row> rows, Map<String, Double> allocated,
            String pairedRows) {
        StringBuilder table = new StringBuilder();
        for (Target target : TARGETS) {
            List<Row> group = group(rows, target.store(), target.network(), target.scenario(), 1);
            Row ours = group.stream().filter(r -> r.variant().equals("ours")).findFirst().orElse(null);
            Row against = group.stream().filter(r -> r.variant().equals(target.against())).findFirst().orElse(null);
            if (ours == null || against == null) {
                continue;
            }
            double ratio = ours.opsPerSecond() / against.opsPerSecond();
            double error = ratio * Math.hypot(ours.opsError() / ours.opsPerSecond(),
                    against.opsError() / against.opsPerSecond());
            table.append("| ").append(target.description())
                    .append(String.format(Locale.ROOT, " | %.2f ± %.2f | ", ratio, error))
                    .append(verdict(ratio, error, target.min()))
                    .append(String.format(Locale.ROOT, " | %.2f |\n", against.p50Micros() / ours.p50Micros()));
        }
        Double ours = allocated.get("RedisBenchmark.firstCall");
        Double floor = allocated.get("RedisBenchmark.firstCallFloor");
        if (ours != null && floor != null) {
            table.append(String.format(Locale.ROOT, "| Redis first call allocates ≤ the floor + %,.0f B (half the"
                    + " gap of 10,632 to 5,498) | %,.0f B, the floor %,.0f B: floor + %,.0f B | %s | |\n",
                    REDIS_ALLOCATION_GAP, ours, floor, ours - floor,
                    ours - floor <= REDIS_ALLOCATION_GAP ? "met" : "not met"));
        }
        table.append(pairedRows);
        if (table.length() > 0) {
            md.append("\n| target (1 thread) | measured ratio ± interval | | ratio of the p50s |\n|---|---|---|---|\n")
                    .append(table)
                    .append("\nInterval: the ratio's 99.9 % confidence half-width, from the two throughput results'"
                            + " (relative errors added in quadrature). Ratio of the p50s: the same comparison from the"
                            + " sample-time run's medians (the other's p50 over ours), which a burst of load on the"
                            + " machine moves less than a mean. For the paired rounds: the mean of the per-round"
                            + " ratios ± its 99.9 % confidence half-width, and in the last column their median.\n");
        }
    }

    /** Whether a ratio with its interval meets a target: "met", "not met", and whether the interval crosses it. */
    static String verdict(double ratio, double error, double min) {
        if (ratio >= min) {
            return ratio - error >= min ? "met" : "met, within the interval";
        }
        return ratio + error >= min ? "not met, within the interval" : "not met";
    }

    private static String storeName(String store) {
        return switch (store) {
            case "InMemory" -> "in-memory";
            case "Postgres" -> "PostgreSQL";
            default -> store;
        };
    }

    private static String variantName(String variant, String store, String scenario) {
        return switch (variant) {
            case "ours" -> "**ours**";
            case "seed" -> "seed design (GET, SET NX, SET)";
            case "camel" -> "Camel JdbcMessageIdRepository";
            default -> "floor (" + FLOORS.get(store + "." + scenario) + ")";
        };
    }

    private static String micros(double value) {
        return String.format(Locale.ROOT, value < 10 ? "%.2f" : value < 100 ? "%.1f" : "%,.0f", value);
    }

    private static String loadAverage() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? "unknown" : String.format(Locale.ROOT, "%.2f", load);
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[index];
    }

    private static int positive(String value, String option, int min) {
        try {
            int parsed = Integer.parseInt(value);
            if (parsed < min) {
                throw new IllegalArgumentException(option + " must be at least " + min + ", was " + value);
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a whole number, was " + value, e);
        }
    }

    private static List<String> parseNetworks(String value) {
        List<String> networks = new ArrayList<>();
        for (String part : value.split(",")) {
            LatencyProxy.delayOf(part.trim()); // validates
            networks.add(part.trim());
        }
        return List.copyOf(networks);
    }

    private static List<Integer> parseThreads(String value) {
        List<Integer> counts = new ArrayList<>();
        for (String part : value.split(",")) {
            counts.add(positive(part.trim(), "--threads", 1));
        }
        return List.copyOf(counts);
    }
}
