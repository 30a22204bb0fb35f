package org.idempotency.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.UUID;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.IdempotencyObserver.StoreCall;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("observed outcomes over PostgreSQL")
class PostgresObservedOutcomesTest extends ObservedOutcomesContract {

    private static HikariDataSource pool;
    private static Jdbi jdbi;
    private static String table;

    @BeforeAll
    static void createTable() {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(TestServices.postgresUrl());
        config.setPoolName("idem-test-micrometer-" + UUID.randomUUID().toString().substring(0, 8));
        config.setMaximumPoolSize(8);
        config.setMinimumIdle(1);
        pool = new HikariDataSource(config);
        jdbi = Jdbi.create(pool);
        table = TestServices.uniqueTableName("micrometer");
        JdbiIdempotencyStore.builder(jdbi).table(table).build().createSchema();
    }

    @AfterAll
    static void dropTable() {
        try {
            jdbi.useHandle(h -> {
                h.execute("DROP TABLE IF EXISTS \"" + table + "\" CASCADE");
                h.execute("DROP SEQUENCE IF EXISTS \"" + table + "_fencing_seq\"");
            });
        } finally {
            pool.close();
        }
    }

    @Override
    protected IdempotencyStore store() {
        return JdbiIdempotencyStore.builder(jdbi).table(table).build();
    }

    @Override
    protected String storeTag() {
        return "jdbi";
    }

    @Test
    @DisplayName("purges: each is a store call of its own, and the records it removes are counted")
    void purges() throws InterruptedException {
        IdempotencyStore store = store();
        for (int i = 0; i < 3; i++) {
            store.acquire("purge-" + key + "-" + i, null, Duration.ofMillis(20));
        }
        engine(b -> b.purgeInterval(Duration.ofMillis(100)));
        await(() -> meters.find("idempotency.records.purged").tags("store", "jdbi").counter() != null
                && meters.get("idempotency.records.purged").tags("store", "jdbi").counter().count() >= 3);
        IdempotencyStoreCallContext purge = storeCalls().stream()
                .filter(call -> call.getCall() == StoreCall.PURGE && call.getCount() > 0).findFirst().orElseThrow();
        assertThat(purge.getParentObservation()).isNull();
        assertThat(callTimer("purge", "done").count()).isGreaterThanOrEqualTo(1);
    }
}
