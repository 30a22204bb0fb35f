package org.idempotency.api.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.idempotency.api.IdempotencyConfigurationException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ProviderSettingsTest {

    private final ProviderSettings settings = ProviderSettings.of(Map.of(
            "idempotency.store", "redis",
            "idempotency.redis.address", " redis://127.0.0.1:6379 ",
            "idempotency.redis.password", "s3cret",
            "idempotency.redis.timeout", "250ms",
            "idempotency.redis.retention", "PT2H",
            "idempotency.redis.nodes", "a:1, b:2,,c:3",
            "idempotency.redis.database", "3"));

    @Test
    @DisplayName("typed accessors parse and trim")
    void accessors() {
        assertThat(settings.require("idempotency.redis.address")).isEqualTo("redis://127.0.0.1:6379");
        assertThat(settings.duration("idempotency.redis.timeout", Duration.ZERO)).isEqualTo(Duration.ofMillis(250));
        assertThat(settings.duration("idempotency.redis.retention", Duration.ZERO)).isEqualTo(Duration.ofHours(2));
        assertThat(settings.duration("idempotency.redis.absent", Duration.ofSeconds(5))).isEqualTo(Duration.ofSeconds(5));
        assertThat(settings.list("idempotency.redis.nodes")).containsExactly("a:1", "b:2", "c:3");
        assertThat(settings.integer("idempotency.redis.database", 0, 0, 15)).isEqualTo(3);
        assertThat(settings.get("idempotency.redis.absent")).isEmpty();
    }

    @Test
    @DisplayName("errors name the setting, the value and what is accepted; secrets are hidden")
    void errors() {
        assertThatThrownBy(() -> settings.require("idempotency.redis.user"))
                .isInstanceOf(IdempotencyConfigurationException.class)
                .hasMessage("Missing setting 'idempotency.redis.user': it is required by the 'redis' store");
        assertThatThrownBy(() -> settings.integer("idempotency.redis.database", 0, 0, 2))
                .hasMessageContaining("'idempotency.redis.database' = '3'").hasMessageContaining("from 0 to 2");
        assertThatThrownBy(() -> settings.duration("idempotency.redis.address", Duration.ZERO))
                .hasMessageContaining("a positive duration");
        assertThatThrownBy(() -> settings.duration("idempotency.redis.password", Duration.ZERO))
                .hasMessageContaining("<hidden>").hasMessageNotContaining("s3cret");
        assertThat(settings.toString()).doesNotContain("s3cret");
    }

    @Test
    @DisplayName("unknown settings under a prefix are refused")
    void unknown() {
        assertThatThrownBy(() -> settings.rejectUnknown("idempotency.redis.",
                Set.of("idempotency.redis.address", "idempotency.redis.password")))
                .hasMessageContaining("[idempotency.redis.database, idempotency.redis.nodes, idempotency.redis.retention,"
                        + " idempotency.redis.timeout]");
    }

    @Test
    @DisplayName("properties are read as settings")
    void properties() {
        Properties properties = new Properties();
        properties.setProperty("idempotency.store", "memory");

        assertThat(ProviderSettings.of(properties).require("idempotency.store")).isEqualTo("memory");
    }
}
