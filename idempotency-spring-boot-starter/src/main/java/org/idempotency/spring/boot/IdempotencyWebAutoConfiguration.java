package org.idempotency.spring.boot;

import jakarta.servlet.DispatcherType;
import java.util.List;
import org.idempotency.core.Idempotency;
import org.idempotency.servlet.IdempotencyFilter;
import org.idempotency.spring.web.IdempotencyProblemHandler;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Auto-configuration of idempotency in servlet web applications: problem+json answers for idempotency failures
 * in Spring MVC ({@link IdempotencyProblemHandler}), and the {@code Idempotency-Key} servlet filter for the URL
 * patterns in {@code idempotency.http.url-patterns}, ordered after Spring Security's filter chain so that keys
 * are scoped by the authenticated principal. Each bean backs off when the application defines its own.
 */
@AutoConfiguration(after = IdempotencyAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class IdempotencyWebAutoConfiguration {

    /** For Spring. */
    public IdempotencyWebAutoConfiguration() {
    }

    /** The problem+json answers in Spring MVC. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"org.springframework.http.ProblemDetail",
            "org.springframework.web.bind.annotation.RestControllerAdvice"})
    static class ProblemConfiguration {

        @Bean
        @ConditionalOnMissingBean
        IdempotencyProblemHandler idempotencyProblemHandler(IdempotencyProperties properties) {
            return new IdempotencyProblemHandler(properties.getProblemTypeBase());
        }
    }

    /** The servlet filter, for the configured URL patterns. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({IdempotencyFilter.class, FilterRegistrationBean.class})
    @Conditional(OnUrlPatterns.class)
    static class FilterConfiguration {

        @Bean
        @ConditionalOnMissingBean
        IdempotencyFilter idempotencyFilter(Idempotency idempotency, IdempotencyProperties properties) {
            IdempotencyProperties.Http http = properties.getHttp();
            IdempotencyFilter.Builder builder = IdempotencyFilter.builder(idempotency)
                    .operation(http.getOperation())
                    .keyRequired(http.isKeyRequired())
                    .replayHeaders(http.getReplayHeaders().toArray(String[]::new))
                    .maxRequestBytes(bytes("idempotency.http.max-request-size", http.getMaxRequestSize().toBytes()))
                    .maxResponseBytes(bytes("idempotency.http.max-response-size",
                            http.getMaxResponseSize().toBytes()));
            if (properties.getProblemTypeBase() != null) {
                builder.problemTypeBase(properties.getProblemTypeBase());
            }
            return builder.build();
        }

        @Bean
        @ConditionalOnMissingBean(name = "idempotencyFilterRegistration")
        FilterRegistrationBean<IdempotencyFilter> idempotencyFilterRegistration(IdempotencyFilter filter,
                IdempotencyProperties properties) {
            FilterRegistrationBean<IdempotencyFilter> registration = new FilterRegistrationBean<>(filter);
            registration.setName("idempotencyFilter");
            registration.setUrlPatterns(properties.getHttp().getUrlPatterns());
            registration.setDispatcherTypes(DispatcherType.REQUEST);
            registration.setAsyncSupported(false);
            registration.setOrder(properties.getHttp().getOrder());
            return registration;
        }

        private static int bytes(String property, long value) {
            if (value <= 0 || value > Integer.MAX_VALUE - 1) {
                throw new IllegalArgumentException(property + " must be between 1B and 2GB, was " + value + " bytes");
            }
            return (int) value;
        }
    }

    /** Matches when {@code idempotency.http.url-patterns} lists at least one pattern. */
    static final class OnUrlPatterns extends SpringBootCondition {
        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            List<String> patterns = Binder.get(context.getEnvironment())
                    .bind("idempotency.http.url-patterns", Bindable.listOf(String.class)).orElse(List.of());
            return patterns.isEmpty() ? ConditionOutcome.noMatch("no idempotency.http.url-patterns")
                    : ConditionOutcome.match("idempotency.http.url-patterns " + patterns);
        }
    }
}
