package org.idempotency.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.idempotency.api.IdempotencyRecord;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.RecordStatus;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireRequest;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.api.spi.OwnedKey;
import org.idempotency.core.Idempotency;
import org.idempotency.redis.internal.RecordFormat;
import org.idempotency.redis.internal.RedisScripts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/** What the Redis store guarantees beyond the contract kit, against a real Redis. */
class RedisIdempotencyStoreTest {

    private static final Duration LEASE = Duration.ofSeconds(10);
    private static final Duration RETENTION = Duration.ofHours(1);

    private static RedissonClient client;
    private static String prefix;
    private static RedisIdempotencyStore store;

    @BeforeAll
    static void connect() {
        client = TestRedis.newClient();
        prefix = TestRedis.uniquePrefix("store");
        store = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
    }

    @AfterAll
    static void disconnect() {
        TestRedis.deleteKeys(client, prefix);
        client.shutdown();
    }

    private static String newKey() {
        return "op:" + UUID.randomUUID();
    }

    private static long acquire(String key) {
        AcquireResult result = store.acquire(key, "h", LEASE);
        assertThat(result).isInstanceOf(AcquireResult.Acquired.class);
        return ((AcquireResult.Acquired) result).fencingToken();
    }

    /** The stored value of a record, as text (the header is text; test payloads are too). */
    private static String raw(String key) {
        byte[] value = client.<byte[]>getBucket(store.redisKey(key), ByteArrayCodec.INSTANCE).get();
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** The fields of a stored record, absent ones as null. */
    private static List<String> fields(String key) {
        byte[][] fields = RecordFormat.fields(
                client.<byte[]>getBucket(store.redisKey(key), ByteArrayCodec.INSTANCE).get());
        List<String> out = new ArrayList<>();
        for (byte[] field : fields) {
            out.add(field == null ? null : new String(field, StandardCharsets.ISO_8859_1));
        }
        return out;
    }

    private static long pttl(String key) {
        return client.getBucket(store.redisKey(key), StringCodec.INSTANCE).remainTimeToLive();
    }

    private static boolean scriptLoaded(RedisScripts.Script script) {
        return client.getScript().scriptExists(script.sha()).get(0);
    }

    private static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("Timed out after 30 s waiting until " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    @Nested
    @DisplayName("scripts")
    class Scripts {

        @Test
        @DisplayName("are loaded again after SCRIPT FLUSH, and every operation still succeeds")
        void survivesScriptFlush() {
            String key = newKey();
            long token = acquire(key);
            assertThat(scriptLoaded(RedisScripts.ACQUIRE)).isTrue();

            client.getScript().scriptFlush();
            assertThat(scriptLoaded(RedisScripts.EXTEND)).isFalse();
            assertThat(store.extend(key, token, LEASE)).isTrue();

            client.getScript().scriptFlush();
            assertThat(store.complete(key, token, StoredResult.of(new byte[] {7}), RETENTION)).isTrue();

            client.getScript().scriptFlush();
            assertThat(store.find(key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);

            client.getScript().scriptFlush();
            AcquireResult replay = store.acquire(key, "h", LEASE);
            assertThat(((AcquireResult.Existing) replay).record().result()).isEqualTo(StoredResult.of(new byte[] {7}));

            String failing = newKey();
            long failingToken = acquire(failing);
            client.getScript().scriptFlush();
            assertThat(store.fail(failing, failingToken, new StoredFailure("E", "m"), RETENTION)).isTrue();

            String released = newKey();
            long releasedToken = acquire(released);
            client.getScript().scriptFlush();
            assertThat(store.release(released, releasedToken)).isTrue();
            assertThat(scriptLoaded(RedisScripts.RELEASE)).isTrue();
        }

        @Test
        @DisplayName("are loaded again after SCRIPT FLUSH in the middle of batch acquires")
        void batchSurvivesScriptFlush() {
            List<AcquireRequest> first = List.of(new AcquireRequest(newKey(), "h"), new AcquireRequest(newKey(), "h"));
            assertThat(store.acquireAll(first, LEASE)).allMatch(r -> r instanceof AcquireResult.Acquired);

            client.getScript().scriptFlush();
            List<AcquireRequest> second = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                second.add(new AcquireRequest(newKey(), "h"));
            }
            second.add(first.get(0));
            List<AcquireResult> results = store.acquireAll(second, LEASE);

            assertThat(results).hasSize(21);
            assertThat(results.subList(0, 20)).allMatch(r -> r instanceof AcquireResult.Acquired);
            assertThat(results.get(20)).isInstanceOf(AcquireResult.Existing.class);
            for (AcquireRequest request : second) {
                assertThat(store.find(request.key())).isPresent();
            }
        }

        @Test
        @DisplayName("touch exactly one key, KEYS[1], so they run on Redis Cluster")
        void oneKeyPerScript() {
            Pattern keys = Pattern.compile("KEYS\\[(\\d+)]");
            Pattern calls = Pattern.compile("redis\\.call\\('([A-Z]+)'(?:,\\s*([^,)]+))?");
            for (RedisScripts.Script script : RedisScripts.ALL) {
                Matcher keyUse = keys.matcher(script.text());
                int uses = 0;
                while (keyUse.find()) {
                    assertThat(keyUse.group(1)).as(script.name()).isEqualTo("1");
                    uses++;
                }
                assertThat(uses).as(script.name()).isEqualTo(1);
                assertThat(script.text()).as(script.name()).contains("local key = KEYS[1]");
                Matcher call = calls.matcher(script.text());
                while (call.find()) {
                    if (!call.group(1).equals("TIME")) {
                        assertThat(call.group(2)).as(script.name() + " " + call.group(1)).isEqualTo("key");
                    }
                }
                assertThat(script.text()).as(script.name()).startsWith("#!lua");
            }
        }

        @Test
        @DisplayName("re-sent after a lost reply get the answer of their first attempt")
        void resentCallsAreRecognised() {
            String key = newKey();
            String redisKey = store.redisKey(key);
            RScript script = client.getScript(ByteArrayCodec.INSTANCE);
            // lease_ms, keep_ms, hash, op
            Object[] acquireArgs = {bytes("5:100005:200001:h6:call-1")};

            Object first = run(script, RedisScripts.ACQUIRE, redisKey, RScript.ReturnType.VALUE, acquireArgs);
            Object resent = run(script, RedisScripts.ACQUIRE, redisKey, RScript.ReturnType.VALUE, acquireArgs);
            assertThat(first).isInstanceOf(Long.class);
            assertThat((Long) first).as("a token, not taken over").isPositive();
            assertThat(resent).isEqualTo(first);
            assertThat(store.acquire(key, "h", LEASE)).as("another caller").isInstanceOf(AcquireResult.Existing.class);

            long token = (Long) first;
            // token, keep_ms, op, then takeover, code, error type and message, payload
            Object[] completeArgs = {concat(RecordFormat.field(token), bytes("5:60000"), RecordFormat.field("call-2"),
                    bytes("----1:r"))};
            assertThat((Long) run(script, RedisScripts.COMPLETE, redisKey, RScript.ReturnType.LONG, completeArgs))
                    .isEqualTo(1L);
            assertThat((Long) run(script, RedisScripts.COMPLETE, redisKey, RScript.ReturnType.LONG, completeArgs))
                    .as("the same completion, re-sent").isEqualTo(1L);
            assertThat(store.complete(key, token, StoredResult.of(new byte[] {2}), RETENTION))
                    .as("another completion with the same token").isFalse();
            assertThat(store.find(key).orElseThrow().result()).isEqualTo(StoredResult.of(bytes("r")));

            String other = newKey();
            long otherToken = acquire(other);
            Object[] releaseArgs = {RecordFormat.field(otherToken), RecordFormat.field("call-3")};
            String otherKey = store.redisKey(other);
            assertThat((Long) run(script, RedisScripts.RELEASE, otherKey, RScript.ReturnType.LONG, releaseArgs))
                    .isEqualTo(1L);
            assertThat((Long) run(script, RedisScripts.RELEASE, otherKey, RScript.ReturnType.LONG, releaseArgs))
                    .as("the same release, re-sent").isEqualTo(1L);
            assertThat(store.release(other, otherToken)).as("another release").isFalse();
        }

        private <R> R run(RScript script, RedisScripts.Script lua, String redisKey, RScript.ReturnType type,
                Object... args) {
            script.scriptLoad(lua.text());
            return script.evalSha(redisKey, RScript.Mode.READ_WRITE, lua.sha(), type, List.of(redisKey), args);
        }
    }

    @Nested
    @DisplayName("records")
    class Records {

        @Test
        @DisplayName("in progress expire natively one lease after their lease ends")
        void inProgressTtl() {
            String key = newKey();
            long token = acquire(key);

            assertThat(pttl(key)).isBetween(LEASE.multipliedBy(2).minusSeconds(5).toMillis(),
                    LEASE.multipliedBy(2).toMillis());
            assertThat(raw(key)).startsWith("P16:" + token);
            List<String> fields = fields(key);
            assertThat(fields.get(0)).isEqualTo(Long.toString(token));
            assertThat(fields.get(2)).as("lease").isEqualTo(Long.toString(LEASE.toMillis()));
            assertThat(fields.get(3)).as("keep").isEqualTo(Long.toString(LEASE.multipliedBy(2).toMillis()));
            assertThat(fields.get(4)).as("hash").isEqualTo("h");
            assertThat(fields.get(5)).as("call id: a store prefix and a counter").matches("[0-9a-f]{32}-[0-9]+");
            assertThat(fields.subList(6, 11)).containsOnlyNulls();
            IdempotencyRecord record = store.find(key).orElseThrow();
            long at = Long.parseLong(fields.get(1));
            assertThat(record.leaseExpiresAt().toEpochMilli()).isEqualTo(at + LEASE.toMillis());
            assertThat(record.expiresAt().toEpochMilli()).isEqualTo(at + 2 * LEASE.toMillis());
        }

        @Test
        @DisplayName("completed expire natively after their retention and hold the raw result bytes")
        void completedTtl() {
            String key = newKey();
            long token = acquire(key);
            byte[] payload = {0, (byte) 0xff, 'a', (byte) 0xc3, ':', '-'};
            store.complete(key, token, new StoredResult(payload, 201), RETENTION);

            assertThat(pttl(key)).isBetween(RETENTION.minusSeconds(60).toMillis(), RETENTION.toMillis());
            assertThat(raw(key)).startsWith("C16:" + token);
            byte[] value = client.<byte[]>getBucket(store.redisKey(key), ByteArrayCodec.INSTANCE).get();
            byte[][] fields = RecordFormat.fields(value);
            assertThat(new String(fields[7], StandardCharsets.US_ASCII)).as("code").isEqualTo("201");
            assertThat(new String(fields[4], StandardCharsets.US_ASCII)).as("hash").isEqualTo("h");
            assertThat(new String(fields[3], StandardCharsets.US_ASCII)).as("keep")
                    .isEqualTo(Long.toString(RETENTION.toMillis()));
            assertThat(fields[10]).as("payload").isEqualTo(payload);
            long at = Long.parseLong(new String(fields[1], StandardCharsets.US_ASCII));
            assertThat(store.find(key).orElseThrow().expiresAt().toEpochMilli()).isEqualTo(at + RETENTION.toMillis());
        }

        @Test
        @DisplayName("released leave a short tombstone with the last token, invisible to every operation")
        void releaseLeavesTombstone() {
            String key = newKey();
            long token = acquire(key);
            assertThat(store.release(key, token)).isTrue();

            assertThat(raw(key)).startsWith("R16:" + token);
            assertThat(fields(key).get(4)).as("no request hash kept").isNull();
            assertThat(pttl(key)).isBetween(LEASE.minusSeconds(5).toMillis(), LEASE.toMillis());
            assertThat(store.find(key)).isEmpty();
            assertThat(store.extend(key, token, LEASE)).isFalse();
            assertThat(store.complete(key, token, StoredResult.of(new byte[0]), RETENTION)).isFalse();
            assertThat(store.fail(key, token, new StoredFailure("E", null), RETENTION)).isFalse();
            assertThat(store.release(key, token)).isFalse();

            AcquireResult.Acquired again = (AcquireResult.Acquired) store.acquire(key, "other", LEASE);
            assertThat(again.fencingToken()).isGreaterThan(token);
            assertThat(again.takeover()).isFalse();
            assertThat(store.find(key).orElseThrow().requestHash()).isEqualTo("other");
        }

        @Test
        @DisplayName("with a null request hash keep no hash, and one given later is not stored")
        void nullHash() {
            String key = newKey();
            store.acquire(key, null, LEASE);

            assertThat(fields(key).get(4)).isNull();
            IdempotencyRecord record = ((AcquireResult.Existing) store.acquire(key, "x", LEASE)).record();
            assertThat(record.requestHash()).isNull();
        }

        @Test
        @DisplayName("keep any request hash exactly, and tell apart hashes that UTF-8 would make equal")
        void awkwardHashes() {
            String lone = "\uD800";
            String key = newKey();
            assertThat(store.acquire(key, lone, LEASE)).isInstanceOf(AcquireResult.Acquired.class);

            IdempotencyRecord held = ((AcquireResult.Existing) store.acquire(key, "?", LEASE)).record();

            assertThat(held.requestHash()).isEqualTo(lone);
            assertThat(held.matchesRequest("?")).as("another request").isFalse();
            for (String hash : List.of("\u0000", "a\u0000b", "\uDC00\uD800", "\u0001", "\u0001x", "😀\uDE00", "")) {
                String other = newKey();
                store.acquire(other, hash, LEASE);
                assertThat(store.find(other).orElseThrow().requestHash()).as(hash).isEqualTo(hash);
                assertThat(((AcquireResult.Existing) store.acquire(other, hash, LEASE)).record().requestHash())
                        .isEqualTo(hash);
            }
        }

        @Test
        @DisplayName("keep any failure up to its limits exactly: U+0000, unpaired surrogates, 255 and 2,000 characters")
        void awkwardFailures() {
            String type = ("\u0000\uD800x\u0001" + "é").repeat(51);
            String message = ("\uDFFF\u0000" + "m").repeat(666) + "\u0000\u0001";
            assertThat(type).hasSize(StoredFailure.MAX_TYPE_LENGTH);
            assertThat(message).hasSize(StoredFailure.MAX_MESSAGE_LENGTH);
            StoredFailure failure = new StoredFailure(type, message);
            String key = newKey();
            long token = acquire(key);

            assertThat(store.fail(key, token, failure, RETENTION)).isTrue();

            assertThat(store.find(key).orElseThrow().failure()).isEqualTo(failure);
            assertThat(((AcquireResult.Existing) store.acquire(key, "h", LEASE)).record().failure()).isEqualTo(failure);
        }

        @Test
        @DisplayName("that are malformed are reported without their content")
        void malformedWithoutContent() {
            String key = newKey();
            client.getBucket(store.redisKey(key), StringCodec.INSTANCE)
                    .set("P14:SECRET-CONTENT----------", Duration.ofMinutes(1));

            assertThatThrownBy(() -> store.find(key)).isInstanceOfSatisfying(IdempotencyStoreException.class,
                    e -> assertThat(allMessages(e)).contains("malformed").doesNotContain("SECRET"));
            assertThatThrownBy(() -> store.acquire(key, "h", LEASE)).isInstanceOfSatisfying(
                    IdempotencyStoreException.class, e -> assertThat(allMessages(e)).doesNotContain("SECRET"));

            String longType = "SECRET-".repeat(40);
            String failed = newKey();
            client.getBucket(store.redisKey(failed), StringCodec.INSTANCE).set("F1:11:1-1:9----" + longType.length()
                    + ":" + longType + "--", Duration.ofMinutes(1));
            assertThatThrownBy(() -> store.find(failed)).isInstanceOfSatisfying(IdempotencyStoreException.class,
                    e -> assertThat(allMessages(e)).contains("malformed").doesNotContain("SECRET"));
        }

        @Test
        @DisplayName("that are not in the record format are reported as a store fault, not misread")
        void foreignValue() {
            String key = newKey();
            client.getBucket(store.redisKey(key), StringCodec.INSTANCE).set("not a record", Duration.ofMinutes(1));

            assertThatThrownBy(() -> store.find(key)).isInstanceOf(IdempotencyStoreException.class)
                    .hasMessageContaining("malformed");
        }

        @Test
        @DisplayName("of stores whose prefixes nearly begin one another stay apart: each runs its own work")
        void nearPrefixesStayApart() {
            String base = TestRedis.uniquePrefix("near");
            String shorter = base;
            String longer = base.substring(0, base.length() - 1) + "payments:";
            try (Idempotency first = Idempotency.builder(
                            RedisIdempotencyStore.builder(client).keyPrefix(shorter).build()).build();
                    Idempotency second = Idempotency.builder(
                            RedisIdempotencyStore.builder(client).keyPrefix(longer).build()).build()) {
                String a = first.operation("payments", String.class).execute("refund:42", "h", () -> "first");
                String b = second.operation("refund", String.class).execute("42", "h", () -> "second");

                assertThat(a).isEqualTo("first");
                assertThat(b).as("the second store's work ran").isEqualTo("second");
                assertThat(second.operation("refund", String.class).execute("42", "h", () -> "again"))
                        .isEqualTo("second");
            } finally {
                TestRedis.deleteKeys(client, shorter);
                TestRedis.deleteKeys(client, longer);
            }
        }

        @Test
        @DisplayName("of stores with different key prefixes are independent")
        void prefixesAreNamespaces() {
            RedisIdempotencyStore other = RedisIdempotencyStore.builder(client)
                    .keyPrefix(TestRedis.uniquePrefix("store-other")).build();
            String key = newKey();
            acquire(key);

            assertThat(other.find(key)).isEmpty();
            assertThat(other.acquire(key, "h", LEASE)).isInstanceOf(AcquireResult.Acquired.class);
            TestRedis.deleteKeys(client, other.keyPrefix());
        }
    }

    @Nested
    @DisplayName("building")
    class Building {

        @Test
        @DisplayName("uses the default key prefix unless told otherwise")
        void defaultPrefix() {
            RedisIdempotencyStore defaults = RedisIdempotencyStore.builder(client).build();

            assertThat(defaults.keyPrefix()).isEqualTo("idempotency:");
            assertThat(defaults.redisKey("op:k")).isEqualTo("idempotency:op:k");
        }

        @Test
        @DisplayName("refuses a negative replica count and a timeout that is not from 1 ms to 24 days, naming the value")
        void badReplicaAcknowledgement() {
            RedisIdempotencyStore.Builder builder = RedisIdempotencyStore.builder(client);
            assertThatThrownBy(() -> builder.replicaAcknowledgement(-1, Duration.ofSeconds(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was -1");
            assertThatThrownBy(() -> builder.replicaAcknowledgement(1, Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("WAIT with 0 would wait forever")
                    .hasMessageContaining("was PT0S");
            assertThatThrownBy(() -> builder.replicaAcknowledgement(1, Duration.ofMillis(-5)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was PT-0.005S");
            assertThatThrownBy(() -> builder.replicaAcknowledgement(1, Duration.ofDays(30)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was PT720H");
            assertThatThrownBy(() -> builder.replicaAcknowledgement(1, null))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("timeout");
            assertThatThrownBy(() -> builder.evictionPolicyCheck(null))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("evictionPolicyCheck");
            assertThat(builder.replicaAcknowledgement(0, Duration.ZERO).build().toString())
                    .doesNotContain("replicaAcknowledgement");
            assertThat(builder.replicaAcknowledgement(2, Duration.ofMillis(1500)).build().toString())
                    .contains("replicaAcknowledgement=2 within PT1.5S");
        }

        @Test
        @DisplayName("refuses bad key prefixes, naming the rule")
        void badPrefixes() {
            RedisIdempotencyStore.Builder builder = RedisIdempotencyStore.builder(client);

            assertThatThrownBy(() -> builder.keyPrefix("")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("1 to 128 UTF-8 bytes");
            assertThatThrownBy(() -> builder.keyPrefix("a".repeat(128) + ":"))
                    .hasMessageContaining("1 to 128 UTF-8 bytes");
            assertThatThrownBy(() -> builder.keyPrefix("my-app :")).hasMessageContaining("whitespace");
            assertThatThrownBy(() -> builder.keyPrefix("app\n:")).hasMessageContaining("control characters");
            assertThatThrownBy(() -> builder.keyPrefix("bad\uD800:")).hasMessageContaining("broken Unicode");
            for (String glob : List.of("a*:", "a?:", "a[b]:", "a\\:")) {
                assertThatThrownBy(() -> builder.keyPrefix(glob)).as(glob).hasMessageContaining("glob characters");
            }
            assertThatThrownBy(() -> RedisIdempotencyStore.builder(null)).isInstanceOf(NullPointerException.class);
            assertThat(builder.keyPrefix("app-😀:").build().keyPrefix()).isEqualTo("app-😀:");
            assertThat(builder.keyPrefix("a".repeat(127) + ":").build().keyPrefix()).hasSize(128);
        }

        @Test
        @DisplayName("refuses a prefix that does not end with its only ':', so that no prefix begins another")
        void prefixEndsAtItsOnlyColon() {
            RedisIdempotencyStore.Builder builder = RedisIdempotencyStore.builder(client);

            for (String prefix : List.of("P", "Ppayments", "payments:idempotency:", "a::", ":a:", "a:b")) {
                assertThatThrownBy(() -> builder.keyPrefix(prefix)).as(prefix)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("must end with ':' and contain no other ':'")
                        .hasMessageContaining("'" + prefix + "'");
            }
            assertThat(builder.keyPrefix("Ppayments:").build().redisKey("refund:42")).isEqualTo("Ppayments:refund:42");
        }

        @Test
        @DisplayName("gives different Redis keys to every pair of a valid prefix and a stored key")
        void redisKeysAreUnambiguous() {
            List<String> prefixes = List.of("P:", "Pp:", "Ppayments:", "payments-idempotency:", "{p}x:", "x{p}:");
            List<String> storedKeys = List.of("payments:refund:42", "refund:42", "ayments:refund:42", ":refund:42",
                    "42", "p:x", "x:", "{p}x:refund:42", "x{p}:42");
            Map<String, String> seen = new HashMap<>();
            for (String prefix : prefixes) {
                RedisIdempotencyStore store = RedisIdempotencyStore.builder(client).keyPrefix(prefix).build();
                for (String storedKey : storedKeys) {
                    String redisKey = store.redisKey(storedKey);
                    assertThat(redisKey.substring(0, redisKey.indexOf(':') + 1)).isEqualTo(prefix);
                    assertThat(seen.put(redisKey, prefix + " + " + storedKey)).as(redisKey).isNull();
                }
            }
        }

        @Test
        @DisplayName("accepts a complete Redis Cluster hash tag, which then decides the slot of every key")
        void hashTags() {
            RedisIdempotencyStore.Builder builder = RedisIdempotencyStore.builder(client);
            for (String prefix : List.of("{payments}-idempotency:", "tenant-{42}:", "{a}{b}:", "}{x}:")) {
                assertThat(builder.keyPrefix(prefix).build().keyPrefix()).isEqualTo(prefix);
            }
            for (String prefix : List.of("{payments-idempotency:", "{}payments:", "x{:", "a}{:")) {
                assertThatThrownBy(() -> builder.keyPrefix(prefix)).as(prefix)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("complete Redis Cluster hash tag");
            }

            RedisIdempotencyStore tagged = builder.keyPrefix("{payments}-idempotency:").build();
            for (String storedKey : List.of("op:k", "op:{x}", "op:}{y}", "op:{}", "{z}:k")) {
                assertThat(hashTag(tagged.redisKey(storedKey))).as(storedKey).isEqualTo("payments");
            }
            RedisIdempotencyStore untagged = builder.keyPrefix("payments-idempotency:").build();
            assertThat(hashTag(untagged.redisKey("op:{x}"))).as("no tag in the prefix: the stored key's")
                    .isEqualTo("x");
        }

        /** The part of a key that Redis Cluster hashes, by the rule of the Redis Cluster specification. */
        private String hashTag(String key) {
            int open = key.indexOf('{');
            if (open >= 0) {
                int close = key.indexOf('}', open + 1);
                if (close > open + 1) {
                    return key.substring(open + 1, close);
                }
            }
            return key;
        }

        @Test
        @DisplayName("over the application's client leaves it open on close; when told to own it, shuts it down")
        void closeOwnership() {
            RedissonClient own = TestRedis.newClient();
            try {
                RedisIdempotencyStore borrowed = RedisIdempotencyStore.builder(own).keyPrefix(prefix).build();
                borrowed.close();
                assertThat(own.isShutdown()).isFalse();
                assertThat(borrowed.find(newKey())).isEmpty();

                RedisIdempotencyStore owning = RedisIdempotencyStore.builder(own).keyPrefix(prefix)
                        .closeClientOnClose(true).build();
                owning.close();
                owning.close();
                assertThat(own.isShutdown()).isTrue();
                assertThatThrownBy(() -> owning.find(newKey())).isInstanceOf(IdempotencyStoreException.class);
            } finally {
                own.shutdown();
            }
        }

        @Test
        @DisplayName("refuses a lease or retention that is not positive")
        void badDurations() {
            assertThatThrownBy(() -> store.acquire(newKey(), "h", Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lease must be positive");
            assertThatThrownBy(() -> store.complete(newKey(), 1, StoredResult.of(new byte[0]), Duration.ofSeconds(-1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retention must be positive");
        }
    }

    @Nested
    @DisplayName("batch lease renewal")
    class BatchRenewal {

        @Test
        @DisplayName("renews every lease its token owns and answers false for the others, in request order")
        void outcomes() {
            String owned = newKey();
            long ownedToken = acquire(owned);
            String stale = newKey();
            long staleToken = acquire(stale);
            String completed = newKey();
            long completedToken = acquire(completed);
            store.complete(completed, completedToken, StoredResult.of(new byte[] {1}), RETENTION);
            String released = newKey();
            long releasedToken = acquire(released);
            store.release(released, releasedToken);
            String absent = newKey();
            String second = newKey();
            long secondToken = acquire(second);
            IdempotencyRecord before = store.find(owned).orElseThrow();
            IdempotencyRecord completedBefore = store.find(completed).orElseThrow();

            List<Boolean> renewed = store.extendAll(List.of(new OwnedKey(owned, ownedToken),
                    new OwnedKey(stale, staleToken + 1), new OwnedKey(completed, completedToken),
                    new OwnedKey(released, releasedToken), new OwnedKey(absent, 1), new OwnedKey(second, secondToken)),
                    LEASE.multipliedBy(3));

            assertThat(renewed).containsExactly(true, false, false, false, false, true);
            IdempotencyRecord after = store.find(owned).orElseThrow();
            assertThat(after.fencingToken()).isEqualTo(ownedToken);
            assertThat(after.leaseExpiresAt()).isAfter(before.leaseExpiresAt().plus(LEASE));
            assertThat(pttl(owned)).isGreaterThan(LEASE.multipliedBy(5).toMillis());
            assertThat(store.find(stale).orElseThrow().leaseExpiresAt()).isBefore(after.leaseExpiresAt());
            assertThat(store.find(completed)).contains(completedBefore);
            assertThat(store.find(released)).isEmpty();
            assertThat(store.find(absent)).isEmpty();
            assertThat(store.find(second).orElseThrow().leaseExpiresAt())
                    .isBetween(after.leaseExpiresAt().minusSeconds(1), after.leaseExpiresAt().plusSeconds(1));
        }

        @Test
        @DisplayName("keeps long work owned across lease ends, and a stale owner cannot renew a taken-over key")
        void keepsLeasesAlive() {
            Duration shortLease = Duration.ofSeconds(2);
            String renewedKey = newKey();
            String abandonedKey = newKey();
            long renewedToken = ((AcquireResult.Acquired) store.acquire(renewedKey, "h", shortLease)).fencingToken();
            long abandonedToken = ((AcquireResult.Acquired) store.acquire(abandonedKey, "h", shortLease))
                    .fencingToken();
            // past the first lease's end, and within the abandoned key's takeover window (one more lease)
            long end = System.nanoTime() + shortLease.multipliedBy(3).dividedBy(2).toNanos();
            while (System.nanoTime() - end < 0) {
                assertThat(store.extendAll(List.of(new OwnedKey(renewedKey, renewedToken)), shortLease))
                        .containsExactly(true);
                assertThat(store.acquire(renewedKey, "h", shortLease)).isInstanceOf(AcquireResult.Existing.class);
                sleep(100);
            }
            AcquireResult takeover = store.acquire(abandonedKey, "h", shortLease);
            assertThat(takeover).isInstanceOfSatisfying(AcquireResult.Acquired.class,
                    acquired -> assertThat(acquired.takeover()).isTrue());

            assertThat(store.extendAll(List.of(new OwnedKey(abandonedKey, abandonedToken),
                    new OwnedKey(renewedKey, renewedToken)), shortLease)).containsExactly(false, true);
            assertThat(store.find(abandonedKey).orElseThrow().fencingToken())
                    .isEqualTo(((AcquireResult.Acquired) takeover).fencingToken());
        }

        @Test
        @DisplayName("renews a batch in one round trip, as acquireAll claims one")
        void oneRoundTrip() throws Exception {
            try (TcpProxy proxy = new TcpProxy(TestRedis.uri().getHost(), TestRedis.uri().getPort())) {
                Config config = new Config();
                config.useSingleServer().setAddress(proxy.address()).setConnectTimeout(5000);
                RedissonClient viaProxy = Redisson.create(config);
                try {
                    RedisIdempotencyStore counted = RedisIdempotencyStore.builder(viaProxy).keyPrefix(prefix).build();
                    List<AcquireRequest> requests = new ArrayList<>();
                    for (int i = 0; i < 50; i++) {
                        requests.add(new AcquireRequest(newKey(), "h"));
                    }
                    counted.acquireAll(requests.subList(0, 1), LEASE); // scripts loaded, connections warm
                    counted.extendAll(List.of(new OwnedKey(requests.get(0).key(), 1)), LEASE);

                    int before = proxy.roundTrips();
                    List<AcquireResult> acquired = counted.acquireAll(requests.subList(1, 50), LEASE);
                    int acquireTrips = proxy.roundTrips() - before;
                    List<OwnedKey> owned = new ArrayList<>();
                    for (int i = 0; i < acquired.size(); i++) {
                        owned.add(new OwnedKey(requests.get(i + 1).key(),
                                ((AcquireResult.Acquired) acquired.get(i)).fencingToken()));
                    }
                    before = proxy.roundTrips();
                    assertThat(counted.extendAll(owned, LEASE)).hasSize(49).containsOnly(true);
                    int extendTrips = proxy.roundTrips() - before;
                    before = proxy.roundTrips();
                    for (OwnedKey key : owned.subList(0, 10)) {
                        counted.extend(key.key(), key.fencingToken(), LEASE);
                    }
                    int singleTrips = proxy.roundTrips() - before;

                    assertThat(acquireTrips).as("acquireAll of 49 keys").isEqualTo(1);
                    assertThat(extendTrips).as("extendAll of 49 keys").isEqualTo(1);
                    assertThat(singleTrips).as("10 single extends").isEqualTo(10);
                } finally {
                    viaProxy.shutdown();
                }
            }
        }

        @Test
        @DisplayName("refuses a key twice before reaching Redis, and answers an empty batch with nothing")
        void input() {
            String key = newKey();
            long token = acquire(key);

            assertThatThrownBy(() -> store.extendAll(List.of(new OwnedKey(key, token), new OwnedKey(key, token)),
                    LEASE)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("appears twice");
            assertThat(store.extendAll(List.of(), LEASE)).isEmpty();
            assertThatThrownBy(() -> store.extendAll(List.of(new OwnedKey(key, token)), Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lease must be positive");
        }

        @Test
        @DisplayName("loads its script again after SCRIPT FLUSH, and answers on an interrupted thread")
        void scriptFlushAndInterrupt() {
            List<OwnedKey> keys = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String key = newKey();
                keys.add(new OwnedKey(key, acquire(key)));
            }
            client.getScript().scriptFlush();

            assertThat(interrupted(() -> store.extendAll(keys, LEASE))).hasSize(20).containsOnly(true);
            assertThat(scriptLoaded(RedisScripts.EXTEND)).isTrue();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Runs a call with the calling thread's interrupt flag set; checks that the call left it set. */
    private static <T> T interrupted(Supplier<T> call) {
        Thread.currentThread().interrupt();
        try {
            T result = call.get();
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept for the caller").isTrue();
            return result;
        } finally {
            Thread.interrupted();
        }
    }

    @Nested
    @DisplayName("on an interrupted thread")
    class Interrupted {

        @Test
        @DisplayName("acquire takes the key and says so, instead of failing after it sent the command")
        void acquireTakesTheKey() {
            String key = newKey();

            AcquireResult result = interrupted(() -> store.acquire(key, "h", LEASE));

            assertThat(result).isInstanceOf(AcquireResult.Acquired.class);
            assertThat(store.find(key).orElseThrow().fencingToken())
                    .isEqualTo(((AcquireResult.Acquired) result).fencingToken());
        }

        @Test
        @DisplayName("complete, fail, release and extend report what they did")
        void finishing() {
            String completed = newKey();
            long completedToken = acquire(completed);
            assertThat(interrupted(() -> store.extend(completed, completedToken, LEASE))).isTrue();
            assertThat(interrupted(() -> store.complete(completed, completedToken, StoredResult.of(new byte[] {5}),
                    RETENTION))).isTrue();
            assertThat(store.find(completed).orElseThrow().result()).isEqualTo(StoredResult.of(new byte[] {5}));

            String failed = newKey();
            long failedToken = acquire(failed);
            assertThat(interrupted(() -> store.fail(failed, failedToken, new StoredFailure("E", "m"), RETENTION)))
                    .isTrue();
            assertThat(store.find(failed).orElseThrow().status()).isEqualTo(RecordStatus.FAILED);

            String released = newKey();
            long releasedToken = acquire(released);
            assertThat(interrupted(() -> store.release(released, releasedToken))).isTrue();
            assertThat(store.find(released)).isEmpty();
        }

        @Test
        @DisplayName("an execution runs the work once and keeps its result, so a repeat replays it")
        void execution() {
            try (Idempotency idempotency = Idempotency.builder(store).build()) {
                AtomicInteger runs = new AtomicInteger();
                String key = UUID.randomUUID().toString();

                String first = interrupted(() -> idempotency.operation("interrupted", String.class)
                        .execute(key, "h", () -> "run " + runs.incrementAndGet()));
                String again = idempotency.operation("interrupted", String.class)
                        .execute(key, "h", () -> "run " + runs.incrementAndGet());

                assertThat(first).isEqualTo("run 1");
                assertThat(again).isEqualTo("run 1");
                assertThat(store.find("interrupted:" + key).orElseThrow().status()).isEqualTo(RecordStatus.COMPLETED);
            }
        }

        @Test
        @DisplayName("find, a batch acquire and complete answer, also when the scripts must be loaded again first")
        void findAndBatchAfterScriptFlush() {
            String key = newKey();
            long token = acquire(key);
            client.getScript().scriptFlush();

            assertThat(interrupted(() -> store.find(key)).orElseThrow().fencingToken()).isEqualTo(token);
            List<AcquireRequest> batch = List.of(new AcquireRequest(newKey(), "h"), new AcquireRequest(key, "h"));
            List<AcquireResult> results = interrupted(() -> store.acquireAll(batch, LEASE));

            assertThat(results.get(0)).isInstanceOf(AcquireResult.Acquired.class);
            assertThat(results.get(1)).isInstanceOf(AcquireResult.Existing.class);
            assertThat(store.find(batch.get(0).key())).isPresent();
            assertThat(interrupted(() -> store.complete(key, token, StoredResult.of(new byte[0]), RETENTION))).isTrue();
        }
    }

    @Nested
    @DisplayName("a lost connection")
    class ConnectionFaults {

        @Test
        @DisplayName("a timeout is a store fault whose messages carry neither the result nor the request hash")
        void timeoutWithoutData() throws Exception {
            try (TcpProxy proxy = new TcpProxy(TestRedis.uri().getHost(), TestRedis.uri().getPort())) {
                Config config = new Config();
                config.useSingleServer().setAddress(proxy.address()).setTimeout(1000).setConnectTimeout(5000)
                        .setRetryAttempts(0);
                RedissonClient viaProxy = Redisson.create(config);
                try {
                    RedisIdempotencyStore slow = RedisIdempotencyStore.builder(viaProxy).keyPrefix(prefix).build();
                    String key = newKey();
                    long token = ((AcquireResult.Acquired) slow.acquire(key, "SECRET-HASH", LEASE)).fencingToken();

                    proxy.stall();
                    assertThatThrownBy(() -> slow.complete(key, token, StoredResult.of(bytes("SECRET-RESULT")),
                            RETENTION)).isInstanceOfSatisfying(IdempotencyStoreException.class, e -> {
                                assertThat(e.getCause()).isNotNull();
                                assertThat(allMessages(e)).doesNotContain("SECRET");
                            });
                    assertThatThrownBy(() -> slow.acquire(newKey(), "SECRET-HASH", LEASE))
                            .isInstanceOfSatisfying(IdempotencyStoreException.class,
                                    e -> assertThat(allMessages(e)).doesNotContain("SECRET"));
                    proxy.resume();
                } finally {
                    viaProxy.shutdown();
                }
            }
        }

        @Test
        @DisplayName("surfaces as a store fault with the cause, leaves no record, and the store recovers")
        void connectionLoss() throws Exception {
            try (TcpProxy proxy = new TcpProxy(TestRedis.uri().getHost(), TestRedis.uri().getPort())) {
                Config config = new Config();
                config.useSingleServer().setAddress(proxy.address()).setTimeout(500).setConnectTimeout(500)
                        .setRetryAttempts(1);
                RedissonClient viaProxy = Redisson.create(config);
                try {
                    RedisIdempotencyStore faulty = RedisIdempotencyStore.builder(viaProxy).keyPrefix(prefix).build();
                    String before = newKey();
                    assertThat(faulty.acquire(before, "h", LEASE)).isInstanceOf(AcquireResult.Acquired.class);

                    proxy.cut();
                    String during = newKey();
                    assertThatThrownBy(() -> faulty.acquire(during, "h", LEASE))
                            .isInstanceOfSatisfying(IdempotencyStoreException.class, e -> {
                                assertThat(e.getCause()).isNotNull();
                                assertThat(e.getMessage()).contains("acquire").contains(during);
                                assertThat(e.httpStatus()).isEqualTo(503);
                            });
                    assertThatThrownBy(() -> faulty.complete(before, 1, StoredResult.of(new byte[0]), RETENTION))
                            .isInstanceOf(IdempotencyStoreException.class);
                    assertThat(store.find(during)).as("no partial record").isEmpty();
                    assertThat(store.find(before).orElseThrow().status()).isEqualTo(RecordStatus.IN_PROGRESS);

                    proxy.restore();
                    eventually("the store reaches Redis again", () -> {
                        try {
                            return faulty.find(before).isPresent();
                        } catch (IdempotencyStoreException stillDown) {
                            return false;
                        }
                    });
                    assertThat(faulty.acquire(during, "h", LEASE)).isInstanceOf(AcquireResult.Acquired.class);
                } finally {
                    viaProxy.shutdown();
                }
            }
        }
    }

    /** Every message in a throwable's cause chain, suppressed ones included, as one text. */
    static String allMessages(Throwable error) {
        java.io.StringWriter out = new java.io.StringWriter();
        error.printStackTrace(new java.io.PrintWriter(out));
        return out.toString();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
