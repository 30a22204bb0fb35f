package org.idempotency.kafka.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The kafka-clients version check. */
class KafkaClientsTest {

    @Test
    @DisplayName("3.9 and newer are supported; older versions are refused naming the version found and the one needed")
    void versions() {
        assertThat(KafkaClients.isSupported("3.9.1")).isTrue();
        assertThat(KafkaClients.isSupported("3.9.0")).isTrue();
        assertThat(KafkaClients.isSupported("4.3.1")).isTrue();
        assertThat(KafkaClients.isSupported("10.0.0")).isTrue();
        assertThat(KafkaClients.isSupported("3.8.1")).isFalse();
        assertThat(KafkaClients.isSupported("2.8.2")).isFalse();
        assertThat(KafkaClients.isSupported("unknown")).as("a version that cannot be read is let through").isTrue();
        assertThatThrownBy(() -> KafkaClients.requireSupported("3.7.0")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("kafka-clients 3.9 or newer").hasMessageContaining("kafka-clients 3.7.0");
    }

    @Test
    @DisplayName("the kafka-clients of this build reports its version and passes")
    void thisBuild() {
        assertThat(KafkaClients.version()).startsWith("4.");
        KafkaClients.requireSupported();
    }
}
