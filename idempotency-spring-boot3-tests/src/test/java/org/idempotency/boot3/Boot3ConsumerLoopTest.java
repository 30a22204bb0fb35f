package org.idempotency.boot3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.AppInfoParser;
import org.idempotency.core.Idempotency;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.kafka.IdempotentRecordHandler;
import org.idempotency.kafka.MessageKeyStrategy;
import org.idempotency.spring.boot.IdempotencyAutoConfiguration;
import org.idempotency.spring.boot.IdempotencyKafkaAutoConfiguration;
import org.idempotency.spring.boot.kafka.IdempotentConsumerLoops;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * A consumer loop bean on the kafka-clients that Spring Boot 3.5 manages (3.9): the starter runs it, it handles a
 * duplicate delivery once, commits, and closes its consumer when the context stops. The consumer is kafka-clients'
 * own {@code MockConsumer}; the loop is tested against a real broker on 3.9 in the Kafka module.
 */
class Boot3ConsumerLoopTest {

    static final TopicPartition PARTITION = new TopicPartition("orders", 0);
    static final MockConsumer<String, String> CONSUMER = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
    static final List<String> HANDLED = new CopyOnWriteArrayList<>();

    @Configuration(proxyBeanMethods = false)
    static class Loop {
        @Bean
        IdempotentConsumerLoop<String, String> orderLoop(Idempotency idempotency) {
            IdempotentRecordHandler<String, String> handler = IdempotentRecordHandler
                    .builder(idempotency, "ship-orders", (ConsumerRecord<String, String> record) -> HANDLED.add(
                            record.value()))
                    .messageKey(MessageKeyStrategy.recordKey())
                    .build();
            return IdempotentConsumerLoop.builder(CONSUMER, handler).topics("orders").build();
        }
    }

    @Test
    @DisplayName("on Boot 3.5's kafka-clients 3.9, a loop bean runs with the context and stops with it")
    void loopRunsOnBootsKafkaClients() {
        assertThat(AppInfoParser.getVersion()).as("the kafka-clients Spring Boot 3.5 manages").startsWith("3.9.");
        CONSUMER.schedulePollTask(() -> {
            CONSUMER.rebalance(List.of(PARTITION));
            CONSUMER.updateBeginningOffsets(Map.of(PARTITION, 0L));
            CONSUMER.addRecord(new ConsumerRecord<>("orders", 0, 0L, "order-1", "ship order-1"));
            CONSUMER.addRecord(new ConsumerRecord<>("orders", 0, 1L, "order-1", "ship order-1"));
        });
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(IdempotencyAutoConfiguration.class,
                        IdempotencyKafkaAutoConfiguration.class))
                .withPropertyValues("idempotency.store=memory")
                .withUserConfiguration(Loop.class)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(IdempotentConsumerLoops.class).isRunning()).isTrue();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (committed() < 2) {
                        assertThat(System.nanoTime() - deadline).as("both records committed within 30 s").isNegative();
                        Thread.sleep(20);
                    }
                });
        assertThat(HANDLED).containsExactly("ship order-1");
        assertThat(CONSUMER.closed()).as("the loop closed its consumer when the context stopped").isTrue();
    }

    private static long committed() {
        OffsetAndMetadata offset = CONSUMER.committed(Set.of(PARTITION)).get(PARTITION);
        return offset == null ? 0 : offset.offset();
    }
}
