package org.idempotency.spring.boot;

import java.util.LinkedHashMap;
import java.util.Map;
import org.idempotency.kafka.IdempotentConsumerLoop;
import org.idempotency.spring.boot.kafka.IdempotentConsumerLoops;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the Kafka consumer loops: every {@link IdempotentConsumerLoop} bean of the application runs
 * on a thread of its own while the application runs ({@link IdempotentConsumerLoops}); off with
 * {@code idempotency.kafka.run-loops=false}. Backs off when the application defines an
 * {@code IdempotentConsumerLoops} bean.
 */
@AutoConfiguration(after = IdempotencyAutoConfiguration.class)
@ConditionalOnClass(name = {"org.idempotency.kafka.IdempotentConsumerLoop",
        "org.apache.kafka.clients.consumer.Consumer"})
@ConditionalOnProperty(name = "idempotency.kafka.run-loops", matchIfMissing = true)
public class IdempotencyKafkaAutoConfiguration {

    /** For Spring. */
    public IdempotencyKafkaAutoConfiguration() {
    }

    /**
     * Runs the loop beans.
     *
     * @param beans the bean factory, for the loops
     * @param properties the properties
     * @return the runner, a lifecycle bean
     */
    @Bean
    @ConditionalOnMissingBean
    public IdempotentConsumerLoops idempotentConsumerLoops(ListableBeanFactory beans, IdempotencyProperties properties) {
        Map<String, IdempotentConsumerLoop<?, ?>> loops = new LinkedHashMap<>();
        beans.getBeansOfType(IdempotentConsumerLoop.class).forEach((name, loop) -> loops.put(name, loop));
        return new IdempotentConsumerLoops(loops, properties.getKafka().getShutdownTimeout());
    }
}
