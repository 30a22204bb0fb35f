package org.idempotency.spring.boot;

import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.spring.boot.actuate.Boot3HealthIndicators;
import org.idempotency.spring.boot.actuate.IdempotencyEndpoint;
import org.idempotency.spring.boot.actuate.IdempotencyHealthIndicator;
import org.idempotency.spring.boot.actuate.IdempotencyStoreHealth;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.type.AnnotationMetadata;
import org.springframework.util.ClassUtils;

/**
 * Auto-configuration of idempotency's Actuator support: the {@code idempotency} endpoint (a key's record; forgetting
 * a key stuck in progress, with unrestricted access only) and the store's health indicator ({@code idempotency} in
 * the health groups, off with {@code management.health.idempotency.enabled=false}), on Spring Boot 4 and 3. Each
 * backs off when the application defines its own.
 */
@AutoConfiguration(after = IdempotencyAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
@ConditionalOnBean(IdempotencyStore.class)
public class IdempotencyActuatorAutoConfiguration {

    static final String HEALTH_BEAN = "idempotencyHealthIndicator";

    /** For Spring. */
    public IdempotencyActuatorAutoConfiguration() {
    }

    /** The endpoint. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.autoconfigure.endpoint.condition"
            + ".ConditionalOnAvailableEndpoint")
    static class EndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnAvailableEndpoint(endpoint = IdempotencyEndpoint.class)
        IdempotencyEndpoint idempotencyEndpoint(IdempotencyStore store, ObjectProvider<Idempotency> engine) {
            return new IdempotencyEndpoint(store, engine.getIfUnique());
        }
    }

    /** The health indicator of Spring Boot 4. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.AbstractHealthIndicator")
    @ConditionalOnProperty(name = "management.health.idempotency.enabled", matchIfMissing = true)
    static class HealthConfiguration {

        @Bean(name = HEALTH_BEAN)
        @ConditionalOnMissingBean(name = HEALTH_BEAN)
        IdempotencyHealthIndicator idempotencyHealthIndicator(IdempotencyStore store) {
            return new IdempotencyHealthIndicator(new IdempotencyStoreHealth(store));
        }
    }

    /** The health indicator of Spring Boot 3. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = Boot3HealthIndicators.INDICATOR)
    @ConditionalOnMissingClass("org.springframework.boot.health.contributor.AbstractHealthIndicator")
    @ConditionalOnProperty(name = "management.health.idempotency.enabled", matchIfMissing = true)
    @Import(Boot3HealthRegistrar.class)
    static class Boot3HealthConfiguration {
    }

    /**
     * Registers the Spring Boot 3 indicator with its interface as the bean's type, so that Actuator finds it by type
     * before it is created.
     */
    static final class Boot3HealthRegistrar implements ImportBeanDefinitionRegistrar, BeanFactoryAware {
        private BeanFactory beanFactory;

        @Override
        public void setBeanFactory(BeanFactory beanFactory) {
            this.beanFactory = beanFactory;
        }

        @Override
        public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
            if (registry.containsBeanDefinition(HEALTH_BEAN)) {
                return;
            }
            ClassLoader loader = ClassUtils.getDefaultClassLoader();
            RootBeanDefinition definition = new RootBeanDefinition();
            definition.setTargetType(ClassUtils.resolveClassName(Boot3HealthIndicators.INDICATOR, loader));
            definition.setInstanceSupplier(() -> Boot3HealthIndicators.indicator(
                    new IdempotencyStoreHealth(beanFactory.getBean(IdempotencyStore.class)), loader));
            registry.registerBeanDefinition(HEALTH_BEAN, definition);
        }
    }
}
