package org.idempotency.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyStores;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.RequestHashes;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.kafka.MessageKeyStrategy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Records per second through a consumer loop, on one broker and one set of records, measured in one run:
 * <ul>
 *   <li>{@code rawLoop}: the plain kafka-clients loop (poll, a trivial handler per record, commit after each
 *       poll), the floor;</li>
 *   <li>{@code idempotentLoop}: {@link IdempotentConsumerLoop} claiming each record's key on its own (and
 *       completing the claims together, {@code batchCompletions(true)});</li>
 *   <li>{@code idempotentLoopBatch}: the same loop claiming a whole window of keys with one {@code beginAll} and
 *       completing them with one {@code completeAll}: two store round trips per window;</li>
 *   <li>{@code idempotentLoopBatchClaimsOnly}: batch claims, but each claim completed on its own
 *       (the loop's default), to show what batch completion adds;</li>
 *   <li>{@code essentialWorkLoop}: the raw loop plus only the work no deduplicating loop can skip, done as
 *       cheaply as plain Java does it: per record the message id read from its header, the SHA-256 hash of its
 *       payload, an insert of the claim into a concurrent map (refused if the key is there) and, after the
 *       poll, a compare-and-set of each claim to its completed record. No leases, renewal, listeners, observers
 *       or retries: the floor an idempotent loop over an in-memory store can approach, not reach.</li>
 * </ul>
 * The targets: the idempotent loop (batch claims and completions) at least 0.6 times the raw loop's throughput on
 * the in-memory store; on Redis and PostgreSQL it is reported.
 * Each invocation consumes the same {@value #RECORDS} records (4 partitions, 100-byte payloads, a
 * {@code message-id} header) from the beginning and then closes its consumer, with partitions assigned
 * directly so that no group rebalance is measured; the score is the time per record (records/s = 1 / score).
 *
 * <p>The broker is the one named by the system property {@code idempotency.kafka.bootstrap}, or one KRaft
 * node started inside the benchmark JVM. The store is {@code memory} (one in-memory store for the trial, its
 * records expired and purged between iterations, as in a long-running consumer) or, with
 * {@code -p store=<name>}, the store discovered by {@link IdempotencyStores} from system properties
 * ({@code -jvmArgsAppend -Didempotency.redis.address=...}); its module must be on the class path. Every
 * iteration of every run uses a fresh operation name, so a persistent store starts from new keys.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(KafkaConsumerBenchmark.RECORDS)
@Warmup(iterations = 5, batchSize = 1)
@Measurement(iterations = 15, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class KafkaConsumerBenchmark {

    static final int RECORDS = 200_000;

    /** How many records each pass consumes: {@value #RECORDS} under JMH; the paired run may take fewer. */
    private int records = RECORDS;
    private static final int PARTITIONS = 4;
    private static final String HEADER = "message-id";
    /** The essential-work loop's lease and retention, as the engine's defaults. */
    private static final long LEASE_MILLIS = 30_000;
    private static final long RETENTION_MILLIS = 86_400_000;

    /** {@code memory}, or the name of a store provider configured by system properties. */
    @Param({"memory"})
    public String store;

    private KafkaClusterTestKit cluster;
    private String bootstrap;
    private String topic;
    private List<TopicPartition> partitions;
    private int iteration;
    /** Makes operation names unique per run, so a persistent store never holds this run's keys already. */
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    private final MovableClock clock = new MovableClock();
    private InMemoryIdempotencyStore memoryStore;
    private IdempotencyStore idempotencyStore;
    private Idempotency idempotency;
    private KafkaConsumer<String, byte[]> rawConsumer;
    private IdempotentConsumerLoop<String, byte[]> loop;
    private IdempotentConsumerLoop<String, byte[]> batchLoop;
    private IdempotentConsumerLoop<String, byte[]> claimsOnlyLoop;
    private KafkaConsumer<String, byte[]> essentialConsumer;
    /** The essential-work loop's records by stored key; emptied before each pass, its table kept. */
    private final ConcurrentHashMap<String, EssentialRecord> essentialRecords = new ConcurrentHashMap<>();
    private final AtomicLong essentialTokens = new AtomicLong();
    private int handled;
    private java.util.function.Consumer<Object> sink = value -> { };

    @Setup(Level.Trial)
    public void startBrokerAndProduce() throws Exception {
        bootstrap = System.getProperty("idempotency.kafka.bootstrap");
        if (bootstrap == null || bootstrap.isBlank()) {
            TestKitNodes.Builder nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1);
            latestProductionMetadata(nodes);
            cluster = new KafkaClusterTestKit.Builder(nodes.build())
                    .setConfigProp("offsets.topic.replication.factor", "1")
                    .setConfigProp("offsets.topic.num.partitions", "1")
                    .setConfigProp("transaction.state.log.replication.factor", "1")
                    .setConfigProp("transaction.state.log.min.isr", "1")
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    .build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            bootstrap = cluster.bootstrapServers();
        }
        topic = "bench-" + UUID.randomUUID();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
        partitions = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            partitions.add(new TopicPartition(topic, p));
        }
        Thread.sleep(1000); // let the new partitions' leaders settle before producing
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        config.put(ProducerConfig.LINGER_MS_CONFIG, 10);
        byte[] payload = new byte[100];
        Arrays.fill(payload, (byte) 'x');
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config)) {
            List<Future<?>> acks = new ArrayList<>(records);
            for (int i = 0; i < records; i++) {
                String id = "msg-" + i;
                ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, i % PARTITIONS, id, payload);
                record.headers().add(HEADER, id.getBytes(StandardCharsets.UTF_8));
                acks.add(producer.send(record));
            }
            for (Future<?> ack : acks) {
                ack.get(60, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * {@code nodes.setBootstrapMetadataVersion(MetadataVersion.latestProduction())}, by reflection: the jar of
     * {@code MetadataVersion} shares packages with kafka-clients, so it cannot be read as a module by this one.
     */
    private static void latestProductionMetadata(TestKitNodes.Builder nodes) throws ReflectiveOperationException {
        Class<?> metadataVersion = Class.forName("org.apache.kafka.server.common.MetadataVersion");
        Object latestProduction = metadataVersion.getMethod("latestProduction").invoke(null);
        TestKitNodes.Builder.class.getMethod("setBootstrapMetadataVersion", metadataVersion)
                .invoke(nodes, latestProduction);
    }

    @Setup(Level.Iteration)
    public void newConsumers(Blackhole blackhole) {
        prepare(blackhole::consume);
    }

    private void prepare(java.util.function.Consumer<Object> sink) {
        this.sink = sink;
        iteration++;
        handled = 0;
        rawConsumer = consumer();
        essentialConsumer = consumer();
        essentialRecords.clear();
        idempotencyStore = "memory".equals(store) ? warmMemoryStore() : discoveredStore();
        idempotency = Idempotency.builder(idempotencyStore).purgeInterval(Duration.ZERO).build();
        loop = loop("bench-" + run + "-" + iteration + "-single", false, true);
        batchLoop = loop("bench-" + run + "-" + iteration + "-batch", true, true);
        claimsOnlyLoop = loop("bench-" + run + "-" + iteration + "-claims", true, false);
    }

    /**
     * The in-memory store as a long-running consumer has it: one store for the whole trial, whose records of the
     * previous iteration have expired (its clock is moved past their retention) and been purged, so its table is
     * already sized instead of growing from empty in the measurement.
     */
    private IdempotencyStore warmMemoryStore() {
        if (memoryStore == null) {
            memoryStore = InMemoryIdempotencyStore.withClock(clock);
        }
        clock.advance(Duration.ofDays(2));
        memoryStore.purgeExpired();
        return memoryStore;
    }

    /** The system clock plus an offset that setup moves forward; read in milliseconds, as the store reads it. */
    static final class MovableClock implements InstantSource {
        private volatile long offsetMillis;

        void advance(Duration by) {
            offsetMillis += by.toMillis();
        }

        @Override
        public long millis() {
            return System.currentTimeMillis() + offsetMillis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }
    }

    private IdempotencyStore discoveredStore() {
        Properties settings = new Properties();
        settings.putAll(System.getProperties());
        settings.setProperty(ProviderSettings.STORE, store);
        return IdempotencyStores.fromSettings(ProviderSettings.of(settings));
    }

    private KafkaConsumer<String, byte[]> consumer() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + UUID.randomUUID());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        // closing waits for a fetch parked at the end of the log; keep that fixed cost small for every loop
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config);
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        return consumer;
    }

    private IdempotentConsumerLoop<String, byte[]> loop(String operation, boolean batchClaims,
            boolean batchCompletions) {
        AtomicReference<IdempotentConsumerLoop<String, byte[]>> self = new AtomicReference<>();
        IdempotentRecordHandler<String, byte[]> handler = IdempotentRecordHandler
                .<String, byte[]>builder(idempotency, operation, record -> {
                    sink.accept(record.value());
                    if (++handled == records) {
                        self.get().wakeup();
                    }
                })
                .messageKey(MessageKeyStrategy.header(HEADER))
                .build();
        self.set(IdempotentConsumerLoop.builder(consumer(), handler).batchClaims(batchClaims)
                .batchCompletions(batchCompletions).build());
        return self.get();
    }

    @TearDown(Level.Iteration)
    public void closeConsumers() throws Exception {
        rawConsumer.close();
        essentialConsumer.close();
        loop.close();
        batchLoop.close();
        claimsOnlyLoop.close();
        idempotency.close();
        if (idempotencyStore != memoryStore && idempotencyStore instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    @TearDown(Level.Trial)
    public void stopBroker() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * The floor: poll, a trivial handler per record, an asynchronous commit after each poll; at the end a
     * synchronous commit and closing the consumer, as the idempotent loop does when it stops.
     */
    @Benchmark
    public int rawLoop() {
        int count = 0;
        while (count < records) {
            ConsumerRecords<String, byte[]> records = rawConsumer.poll(Duration.ofMillis(500));
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (ConsumerRecord<String, byte[]> record : records) {
                sink.accept(record.value());
                count++;
                offsets.put(new TopicPartition(record.topic(), record.partition()),
                        new OffsetAndMetadata(record.offset() + 1, record.leaderEpoch(), ""));
            }
            if (!offsets.isEmpty()) {
                rawConsumer.commitAsync(offsets, null);
            }
        }
        rawConsumer.commitSync();
        rawConsumer.close();
        return count;
    }

    /** A claim or completed record of the essential-work loop. */
    private record EssentialRecord(String requestHash, long fencingToken, boolean completed, long expiresAtMillis) {
    }

    /**
     * The raw loop plus the work no deduplicating loop can skip (see the class comment): the floor for the
     * idempotent loop on the in-memory store.
     */
    @Benchmark
    public int essentialWorkLoop() {
        String prefix = "essential-" + iteration + ":";
        List<String> claimedKeys = new ArrayList<>();
        List<EssentialRecord> claims = new ArrayList<>();
        int count = 0;
        while (count < records) {
            ConsumerRecords<String, byte[]> records = essentialConsumer.poll(Duration.ofMillis(500));
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            claimedKeys.clear();
            claims.clear();
            for (ConsumerRecord<String, byte[]> record : records) {
                String storedKey = prefix + new String(record.headers().lastHeader(HEADER).value(),
                        StandardCharsets.UTF_8);
                EssentialRecord claim = new EssentialRecord(RequestHashes.sha256(record.value()),
                        essentialTokens.incrementAndGet(), false, System.currentTimeMillis() + LEASE_MILLIS);
                if (essentialRecords.putIfAbsent(storedKey, claim) != null) {
                    throw new IllegalStateException("every record of a pass has a new message id: " + storedKey);
                }
                sink.accept(record.value());
                claimedKeys.add(storedKey);
                claims.add(claim);
                count++;
                offsets.put(new TopicPartition(record.topic(), record.partition()),
                        new OffsetAndMetadata(record.offset() + 1, record.leaderEpoch(), ""));
            }
            long expiresAt = System.currentTimeMillis() + RETENTION_MILLIS;
            for (int i = 0; i < claims.size(); i++) {
                EssentialRecord claim = claims.get(i);
                EssentialRecord completed = new EssentialRecord(claim.requestHash(), claim.fencingToken(), true,
                        expiresAt);
                if (!essentialRecords.replace(claimedKeys.get(i), claim, completed)) {
                    throw new IllegalStateException("nothing else writes the essential-work loop's records");
                }
            }
            if (!offsets.isEmpty()) {
                essentialConsumer.commitAsync(offsets, null);
            }
        }
        essentialConsumer.commitSync();
        essentialConsumer.close();
        return count;
    }

    /** The idempotent loop, one acquire per record. */
    @Benchmark
    public int idempotentLoop() {
        loop.run();
        return handled;
    }

    /** The idempotent loop, one {@code beginAll} and one {@code completeAll} per claim window. */
    @Benchmark
    public int idempotentLoopBatch() {
        batchLoop.run();
        return handled;
    }

    /** The idempotent loop, one {@code beginAll} per claim window, each claim completed on its own. */
    @Benchmark
    public int idempotentLoopBatchClaimsOnly() {
        claimsOnlyLoop.run();
        return handled;
    }

    /** Which loop a pass of the paired rounds ran: the index of its seconds in a round's array. */
    static final int RAW = 0;
    static final int PER_RECORD = 1;
    static final int BATCH = 2;
    static final int CLAIMS_ONLY = 3;
    static final int ESSENTIAL = 4;
    static final int LOOPS = 5;

    /** The index of the loop thread's CPU seconds of {@code loop} in a round's array. */
    static int cpu(int loop) {
        return LOOPS + loop;
    }

    /**
     * The same loops outside JMH, interleaved: each round runs every loop once (the essential-work loop only on
     * the in-memory store, which it stands for), in a rotating order, on fresh consumers, so that load from
     * other processes falls on all of them alike, and the ratios are taken per round (paired). The first rounds
     * warm up and are not counted: the broker, the clients and the loops are compiled by then (with fewer, the
     * compiler still works through the measured rounds and slows the raw loop most, which flatters the ratios).
     * Arguments: rounds (default 25), warm-up rounds (default 20), store (default {@code memory}), records per
     * pass (default {@value #RECORDS}).
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 25;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        String store = args.length > 2 ? args[2] : "memory";
        int records = args.length > 3 ? Integer.parseInt(args[3]) : RECORDS;
        List<double[]> measured = pairedRounds(store, rounds, warmup, records, true);
        boolean essential = "memory".equals(store);
        System.out.printf("%n%d rounds of %d records, store %s (mean ± 99.9%% confidence half-width; median)%n",
                rounds, records, store);
        PairedStats.report("raw loop, rec/s", measured, m -> records / m[RAW]);
        PairedStats.report("idempotent loop, rec/s", measured, m -> records / m[PER_RECORD]);
        PairedStats.report("idempotent loop, batch claims and completions, rec/s", measured,
                m -> records / m[BATCH]);
        PairedStats.report("idempotent / raw", measured, m -> m[RAW] / m[PER_RECORD]);
        PairedStats.report("idempotent, batch claims and completions / raw", measured, m -> m[RAW] / m[BATCH]);
        PairedStats.report("idempotent, batch claims only, rec/s", measured, m -> records / m[CLAIMS_ONLY]);
        PairedStats.report("idempotent, batch claims only / raw", measured, m -> m[RAW] / m[CLAIMS_ONLY]);
        if (essential) {
            PairedStats.report("essential work only, rec/s", measured, m -> records / m[ESSENTIAL]);
            PairedStats.report("essential work only / raw", measured, m -> m[RAW] / m[ESSENTIAL]);
            PairedStats.report("idempotent, batch claims and completions / essential work", measured,
                    m -> m[ESSENTIAL] / m[BATCH]);
        }
        System.out.printf("%nCPU time of the loop's thread per record, ns (the rest of a pass is spent waiting: for"
                + " fetches, for the broker's threads, for the collector)%n");
        PairedStats.report("raw loop", measured, m -> m[cpu(RAW)] * 1e9 / records);
        PairedStats.report("idempotent loop", measured, m -> m[cpu(PER_RECORD)] * 1e9 / records);
        PairedStats.report("idempotent, batch claims and completions", measured,
                m -> m[cpu(BATCH)] * 1e9 / records);
        PairedStats.report("idempotent, batch claims only", measured, m -> m[cpu(CLAIMS_ONLY)] * 1e9 / records);
        if (essential) {
            PairedStats.report("essential work only", measured, m -> m[cpu(ESSENTIAL)] * 1e9 / records);
        }
        System.exit(0); // the broker's last threads would otherwise keep the JVM up for a while
    }

    /**
     * Runs the paired rounds of {@link #main} on a broker of its own and returns the measured ones: per round,
     * the seconds each pass took, at the index of its loop ({@link #RAW}, {@link #PER_RECORD}, {@link #BATCH},
     * {@link #CLAIMS_ONLY}, {@link #ESSENTIAL}), then the CPU seconds of the loop's thread in each pass (at
     * {@link #cpu}). The essential-work loop runs on the in-memory store only; on another its entries are NaN.
     *
     * @param store {@code memory}, or the name of a store provider configured by system properties
     * @param print whether to print each round as it ends
     */
    static List<double[]> pairedRounds(String store, int rounds, int warmup, int records, boolean print)
            throws Exception {
        KafkaConsumerBenchmark benchmark = new KafkaConsumerBenchmark();
        benchmark.store = store;
        benchmark.records = records;
        int loops = "memory".equals(store) ? LOOPS : LOOPS - 1; // ESSENTIAL is the last
        long[] sink = new long[1];
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        benchmark.startBrokerAndProduce();
        List<double[]> measured = new ArrayList<>();
        try {
            for (int round = 0; round < warmup + rounds; round++) {
                double[] seconds = new double[2 * LOOPS];
                Arrays.fill(seconds, Double.NaN);
                for (int i = 0; i < loops; i++) {
                    int loop = (round + i) % loops;
                    benchmark.prepare(value -> sink[0] += ((byte[]) value).length);
                    long cpuStart = threads.getCurrentThreadCpuTime();
                    long start = System.nanoTime();
                    switch (loop) {
                        case RAW -> benchmark.rawLoop();
                        case PER_RECORD -> benchmark.idempotentLoop();
                        case BATCH -> benchmark.idempotentLoopBatch();
                        case CLAIMS_ONLY -> benchmark.idempotentLoopBatchClaimsOnly();
                        default -> benchmark.essentialWorkLoop();
                    }
                    seconds[loop] = (System.nanoTime() - start) / 1e9;
                    seconds[cpu(loop)] = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
                    benchmark.closeConsumers();
                }
                if (print) {
                    System.out.printf("round %2d%s: raw %6.0f rec/s, per-record %6.0f rec/s (%.2fx), batch %6.0f"
                            + " rec/s (%.2fx), batch claims only %6.0f rec/s (%.2fx)%s%n", round + 1,
                            round < warmup ? " (warm-up)" : "", records / seconds[RAW], records / seconds[PER_RECORD],
                            seconds[RAW] / seconds[PER_RECORD], records / seconds[BATCH],
                            seconds[RAW] / seconds[BATCH], records / seconds[CLAIMS_ONLY],
                            seconds[RAW] / seconds[CLAIMS_ONLY], loops == LOOPS ? String.format(Locale.ROOT,
                                    ", essential work %6.0f rec/s (%.2fx)", records / seconds[ESSENTIAL],
                                    seconds[RAW] / seconds[ESSENTIAL]) : "");
                }
                if (round >= warmup) {
                    measured.add(seconds);
                }
            }
        } finally {
            benchmark.stopBroker();
        }
        long expected = (long) (warmup + rounds) * loops * records * 100;
        if (sink[0] != expected) {
            throw new IllegalStateException("the loops handled " + sink[0] / 100 + " records, not " + expected / 100);
        }
        return measured;
    }
}
