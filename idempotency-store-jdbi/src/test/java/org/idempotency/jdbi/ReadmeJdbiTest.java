package org.idempotency.jdbi;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import javax.sql.DataSource;
import org.idempotency.core.Idempotency;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The guide's section on this module shows this code verbatim; here it runs, in a schema of its own (the
 * pool's search path), so that the names in the guide are the real ones.
 */
class ReadmeJdbiTest {

    /** The guide's result type. */
    public record Order(long id, String customer, long amountCents) {
    }

    @Test
    @DisplayName("the guide's setup and transactional completion work as shown, and the guide shows them")
    void readme() throws IOException {
        PostgresDatabase database = PostgresDatabase.get();
        String schema = PostgresDatabase.uniqueTableName("readme");
        database.admin().useHandle(h -> {
            h.execute("CREATE SCHEMA " + schema);
            h.execute("CREATE TABLE " + schema + ".orders (id bigserial PRIMARY KEY, customer text NOT NULL,"
                    + " amount_cents bigint NOT NULL)");
        });
        Properties searchPath = new Properties();
        searchPath.setProperty("currentSchema", schema);
        try (HikariDataSource pool = database.pool(PostgresDatabase.uniqueApplicationName("readme"), 4, searchPath)) {
            DataSource dataSource = pool;
            String idempotencyKey = "order-" + UUID.randomUUID();
            String requestHash = "hash-of-the-request";
            String customer = "cust-42";
            long amountCents = 1999;
            java.util.List<Order> results = new java.util.ArrayList<>();

            for (int attempt = 0; attempt < 2; attempt++) { // the second one is a client's retry
                // tag::jdbi-setup[]
                Jdbi jdbi = Jdbi.create(dataSource);
                JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi)
                        .table("idempotency_records") // the default; "schema.table" works too
                        .build();
                store.createSchema(); // or put store.schemaScript() into your migrations
                Idempotency idempotency = Idempotency.builder(store).build();
                // end::jdbi-setup[]
                try (idempotency) {
                    // tag::jdbi-transactional[]
                    TransactionalOperation<Order> createOrder =
                            store.transactional(idempotency.operation("create-order", Order.class));

                    Order order = createOrder.execute(idempotencyKey, requestHash, handle -> {
                        long id = handle.createUpdate("INSERT INTO orders (customer, amount_cents)"
                                        + " VALUES (:customer, :amount)")
                                .bind("customer", customer)
                                .bind("amount", amountCents)
                                .executeAndReturnGeneratedKeys("id")
                                .mapTo(Long.class)
                                .one();
                        return new Order(id, customer, amountCents);
                    });
                    // the order row and the completed record were committed together;
                    // a retry with the same key gets this order back, and inserts nothing
                    // end::jdbi-transactional[]
                    results.add(order);
                }
            }

            assertThat(results).hasSize(2).containsOnly(results.get(0));
            assertThat(results.get(0).customer()).isEqualTo(customer);
            assertThat(database.admin().<Integer, RuntimeException>withHandle(h -> h.createQuery(
                    "SELECT count(*) FROM " + schema + ".orders").mapTo(Integer.class).one())).isEqualTo(1);
        } finally {
            database.admin().useHandle(h -> h.execute("DROP SCHEMA " + schema + " CASCADE"));
        }

        String readme = Files.readString(Path.of("..", "docs", "sql.md"));
        assertThat(readme).contains(snippet("jdbi-setup")).contains(snippet("jdbi-transactional"));
    }

    @Test
    @DisplayName("the guide's wiring of a renewal pool and the lock bound works as shown, and the guide shows it")
    void renewalWiring() throws IOException {
        PostgresDatabase database = PostgresDatabase.get();
        try (HikariDataSource dataSource = database.pool(PostgresDatabase.uniqueApplicationName("readme-main"), 2);
                HikariDataSource renewalDataSource = database.pool(
                        PostgresDatabase.uniqueApplicationName("readme-renewal"), 2)) {
            Jdbi jdbi = Jdbi.create(dataSource);
            // tag::jdbi-renewal[]
            Jdbi renewals = Jdbi.create(renewalDataSource); // a second, small pool
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(jdbi)
                    .renewalJdbi(renewals) // extend and extendAll run here, never behind the application's calls
                    .lockTimeout(Duration.ofMillis(200)) // the default: the longest a statement waits for a row lock
                    .build();
            // end::jdbi-renewal[]

            assertThat(store.renewalJdbi()).isSameAs(renewals);
            assertThat(store.jdbi()).isSameAs(jdbi);
            assertThat(store.lockTimeout()).isEqualTo(JdbiIdempotencyStore.DEFAULT_LOCK_TIMEOUT);
        }
        String readme = Files.readString(Path.of("..", "docs", "sql.md"));
        assertThat(readme).contains(snippet("jdbi-renewal"));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    private static String snippet(String tag) throws IOException {
        String source = Files.readString(Path.of("src/test/java/org/idempotency/jdbi/ReadmeJdbiTest.java"));
        String start = "// tag::" + tag + "[]\n";
        String region = source.substring(source.indexOf(start) + start.length(), source.indexOf("// end::" + tag + "[]"));
        String[] lines = region.split("\n");
        int indent = lines[0].length() - lines[0].stripLeading().length();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
        }
        return out.toString().stripTrailing();
    }
}
