package org.idempotency.spring;

import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;

/**
 * What {@link EnableIdempotency} imports: the post-processor that puts {@link Idempotent} methods behind proxies.
 * Its collaborators are looked up when the first annotated bean is processed, never earlier.
 */
@Configuration(proxyBeanMethods = false)
@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
public class IdempotencyConfiguration {

    /** For Spring. */
    public IdempotencyConfiguration() {
    }

    /**
     * The post-processor, static so that it is created before the beans it processes.
     *
     * @return the post-processor
     */
    @Bean(name = IdempotentBeanPostProcessor.BEAN_NAME)
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    public static IdempotentBeanPostProcessor idempotentBeanPostProcessor() {
        return new IdempotentBeanPostProcessor();
    }
}
