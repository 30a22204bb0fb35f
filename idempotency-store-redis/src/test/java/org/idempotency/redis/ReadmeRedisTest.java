package org.idempotency.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.api.spi.ProviderSettings;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyStores;
import org.idempotency.core.IdempotentOperation;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/** The guide's Redis section shows this code and these settings verbatim, and they work. */
class ReadmeRedisTest {

    record Receipt(String id, long amountCents) {
    }

    static final class Payments {
        final AtomicInteger charges = new AtomicInteger();

        Receipt charge(long amountCents) {
            return new Receipt("rcpt-" + charges.incrementAndGet(), amountCents);
        }
    }

    @Test
    @DisplayName("the guide's explicit wiring runs the work once over Redis")
    void explicitWiring() throws IOException {
        Config config = TestRedis.config();
        Payments payments = new Payments();
        String idempotencyKey = "readme-" + UUID.randomUUID();
        String requestHash = "h";
        long amount = 1999;
        Receipt receipt;
        Receipt again;

        // tag::redis-wiring[]
        RedissonClient redisson = Redisson.create(config); // the application's client
        RedisIdempotencyStore store = RedisIdempotencyStore.builder(redisson)
                .keyPrefix("payments-idempotency:")
                .build();
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            IdempotentOperation<Receipt> charge = idempotency.operation("charge", Receipt.class);
            receipt = charge.execute(idempotencyKey, requestHash, () -> payments.charge(amount));
            again = charge.execute(idempotencyKey, requestHash, () -> payments.charge(amount));
        }
        // end::redis-wiring[]

        try {
            assertThat(again).isEqualTo(receipt);
            assertThat(payments.charges).hasValue(1);
            assertThat(redisson.getBucket("payments-idempotency:charge:" + idempotencyKey).isExists()).isTrue();
        } finally {
            redisson.getKeys().delete("payments-idempotency:charge:" + idempotencyKey);
            redisson.shutdown();
        }
        assertThat(readme()).contains(snippet("redis-wiring"));
    }

    @Test
    @DisplayName("the guide's settings build a Redis store through discovery")
    void settings() throws Exception {
        String block = readme().split("```properties\n", 2)[1].split("```", 2)[0];
        Properties properties = new Properties();
        properties.load(new StringReader(block));
        properties.setProperty("idempotency.redis.address", TestRedis.address());
        properties.setProperty("idempotency.redis.key-prefix", TestRedis.uniquePrefix("readme"));

        IdempotencyStore store = IdempotencyStores.fromSettings(ProviderSettings.of(properties));
        try (AutoCloseable closeable = (AutoCloseable) store) {
            assertThat(closeable).isInstanceOf(RedisIdempotencyStore.class);
            assertThat(store.find("op:absent")).isEmpty();
        }
    }

    private static String readme() throws IOException {
        return Files.readString(Path.of("..", "docs", "redis.md"));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    private static String snippet(String tag) throws IOException {
        String source = Files.readString(Path.of("src/test/java/org/idempotency/redis/ReadmeRedisTest.java"));
        String start = "// tag::" + tag + "[]\n";
        String region = source.substring(source.indexOf(start) + start.length(),
                source.indexOf("// end::" + tag + "[]"));
        String[] lines = region.split("\n");
        int indent = lines[0].length() - lines[0].stripLeading().length();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
        }
        return out.toString().stripTrailing();
    }
}
