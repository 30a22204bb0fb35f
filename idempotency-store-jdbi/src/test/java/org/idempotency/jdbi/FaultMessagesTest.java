package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import org.idempotency.api.IdempotencyStoreException;
import org.idempotency.api.StoredFailure;
import org.idempotency.api.StoredResult;
import org.idempotency.api.spi.AcquireResult;
import org.idempotency.core.Idempotency;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Store faults name the error, never the data: PostgreSQL's details ({@code Failing row contains (...)}) and
 * Jdbi's rendering of a statement's arguments stay out of every exception message the store produces, so that
 * they cannot reach a log line. The table of this class carries constraints the store's writes break on purpose.
 */
class FaultMessagesTest {

    private static final String SECRET = "SECRET-DATA";
    private static final String SECRET_HEX = HexFormat.of().formatHex(SECRET.getBytes(StandardCharsets.UTF_8));
    private static final Duration LEASE = Duration.ofMinutes(1);

    private static TestTable table;

    @BeforeAll
    static void createTable() {
        table = TestTable.create("faults", 4);
        table.database.admin().useHandle(h -> h.execute("ALTER TABLE \"" + table.name + "\" ADD CONSTRAINT"
                + " small_results CHECK (octet_length(response) < 8), ADD CONSTRAINT short_messages"
                + " CHECK (length(error_message) < 8)"));
    }

    @AfterAll
    static void dropTable() {
        table.close();
    }

    /** Every message of a throwable's chain, as a log line with its stack trace would show them. */
    static String allMessages(Throwable error) {
        StringWriter out = new StringWriter();
        error.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    private static void assertWithoutData(Throwable error, String constraint) {
        assertThat(error).isInstanceOf(IdempotencyStoreException.class);
        String messages = allMessages(error);
        assertThat(messages).contains("violates check constraint").contains(constraint).contains("23514")
                .doesNotContain(SECRET).doesNotContain(SECRET_HEX).doesNotContain("Failing row")
                .doesNotContain("arguments");
    }

    @Test
    @DisplayName("a completion that breaks a constraint names the constraint, not the row with the result")
    void completion() {
        JdbiIdempotencyStore store = table.store();
        String key = "faults:" + UUID.randomUUID();
        long token = ((AcquireResult.Acquired) store.acquire(key, SECRET, LEASE)).fencingToken();

        assertThatThrownBy(() -> store.complete(key, token,
                StoredResult.of(SECRET.getBytes(StandardCharsets.UTF_8)), Duration.ofHours(1)))
                .satisfies(e -> assertWithoutData(e, "small_results"));
    }

    @Test
    @DisplayName("recording a failure that breaks a constraint names the constraint, not the message")
    void failure() {
        JdbiIdempotencyStore store = table.store();
        String key = "faults:" + UUID.randomUUID();
        long token = ((AcquireResult.Acquired) store.acquire(key, SECRET, LEASE)).fencingToken();

        assertThatThrownBy(() -> store.fail(key, token, new StoredFailure("E", SECRET), Duration.ofHours(1)))
                .satisfies(e -> assertWithoutData(e, "short_messages"));
    }

    @Test
    @DisplayName("a row that holds no valid record is reported without its content")
    void invalidRow() {
        JdbiIdempotencyStore store = table.store();
        String key = "faults:" + UUID.randomUUID();
        table.database.admin().useHandle(h -> h.createUpdate("INSERT INTO \"" + table.name + "\" (idempotency_key,"
                + " status, fencing_token, expires_at, error_type) VALUES (:k, 'FAILED', 1,"
                + " now() + interval '1 hour', repeat(:secret, 40))").bind("k", key).bind("secret", SECRET).execute());

        assertThatThrownBy(() -> store.find(key)).isInstanceOfSatisfying(IdempotencyStoreException.class,
                e -> assertThat(allMessages(e)).contains("does not hold a valid idempotency record")
                        .doesNotContain(SECRET));
        assertThatThrownBy(() -> store.acquire(key, "h", LEASE)).isInstanceOfSatisfying(
                IdempotencyStoreException.class, e -> assertThat(allMessages(e)).doesNotContain(SECRET));
    }

    @Test
    @DisplayName("a transactional completion that breaks a constraint names the constraint, not the result")
    void transactionalCompletion() {
        JdbiIdempotencyStore store = table.store();
        try (Idempotency idempotency = Idempotency.builder(store).build()) {
            TransactionalOperation<String> operation = store.transactional(
                    idempotency.operation("faults", String.class));

            assertThatThrownBy(() -> operation.execute(UUID.randomUUID().toString(), SECRET, handle -> SECRET))
                    .satisfies(e -> assertWithoutData(e, "small_results"));
        }
    }
}
