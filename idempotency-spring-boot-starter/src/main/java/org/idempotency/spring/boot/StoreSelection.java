package org.idempotency.spring.boot;

import java.util.Locale;
import org.idempotency.api.IdempotencyConfigurationException;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.ConfigurationCondition;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.ClassUtils;

/**
 * Which store the starter configures: the one named by {@code idempotency.store}, or, when it is unset, the one
 * the context offers (Redis for a {@code RedissonClient} bean, the SQL store for a {@code DataSource} bean, else
 * memory). Both offered and none chosen is an error that says how to choose; so is an unknown name. Nothing is
 * chosen when the application defines its own {@code IdempotencyStore}.
 */
final class StoreSelection {

    static final String PROPERTY = "idempotency.store";
    private static final String REDISSON = "org.redisson.api.RedissonClient";
    private static final String REDIS_STORE = "org.idempotency.redis.RedisIdempotencyStore";
    private static final String DATA_SOURCE = "javax.sql.DataSource";
    private static final String JDBI_STORE = "org.idempotency.jdbi.JdbiIdempotencyStore";
    private static final String STORE = "org.idempotency.api.spi.IdempotencyStore";

    enum Choice {
        NONE, REDIS, JDBI, MEMORY_DEFAULT, MEMORY
    }

    private StoreSelection() {
    }

    static Choice choose(ConditionContext context) {
        ConfigurableListableBeanFactory beans = context.getBeanFactory();
        ClassLoader loader = context.getClassLoader();
        if (beans == null || has(beans, loader, STORE)) {
            return Choice.NONE;
        }
        String configured = context.getEnvironment().getProperty(PROPERTY);
        boolean redis = ClassUtils.isPresent(REDIS_STORE, loader) && has(beans, loader, REDISSON);
        boolean jdbc = ClassUtils.isPresent(JDBI_STORE, loader) && has(beans, loader, DATA_SOURCE);
        if (configured != null && !configured.isBlank()) {
            switch (configured.trim().toLowerCase(Locale.ROOT)) {
                case "redis":
                    require(ClassUtils.isPresent(REDIS_STORE, loader), "redis", "idempotency-store-redis");
                    return Choice.REDIS;
                case "jdbi":
                case "jdbc":
                case "sql":
                    require(ClassUtils.isPresent(JDBI_STORE, loader), configured.trim(), "idempotency-store-jdbi");
                    return Choice.JDBI;
                case "memory":
                    return Choice.MEMORY;
                default:
                    throw new IdempotencyConfigurationException(PROPERTY + "=" + configured.trim() + " names no store;"
                            + " use redis, jdbi or memory, or leave it unset to choose from the context");
            }
        }
        if (redis && jdbc) {
            throw new IdempotencyConfigurationException("Both a RedissonClient and a DataSource are defined, so the"
                    + " idempotency store is ambiguous: set " + PROPERTY + "=redis or " + PROPERTY + "=jdbi (or"
                    + " define an IdempotencyStore bean)");
        }
        return redis ? Choice.REDIS : jdbc ? Choice.JDBI : Choice.MEMORY_DEFAULT;
    }

    private static void require(boolean present, String name, String artifact) {
        if (!present) {
            throw new IdempotencyConfigurationException(PROPERTY + "=" + name + " needs org.idempotency:" + artifact
                    + " on the class path");
        }
    }

    private static boolean has(ConfigurableListableBeanFactory beans, ClassLoader loader, String type) {
        if (!ClassUtils.isPresent(type, loader)) {
            return false;
        }
        return beans.getBeanNamesForType(ClassUtils.resolveClassName(type, loader), true, false).length > 0;
    }

    /** Matches when the selection is one of the given choices. */
    abstract static class OnChoice extends SpringBootCondition implements ConfigurationCondition {
        private final Choice[] matching;

        OnChoice(Choice... matching) {
            this.matching = matching;
        }

        @Override
        public ConfigurationPhase getConfigurationPhase() {
            return ConfigurationPhase.REGISTER_BEAN;
        }

        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            Choice choice = choose(context);
            for (Choice candidate : matching) {
                if (candidate == choice) {
                    return ConditionOutcome.match("the idempotency store is " + choice);
                }
            }
            return ConditionOutcome.noMatch("the idempotency store is " + choice);
        }
    }

    /** The Redis store is chosen. */
    static final class OnRedis extends OnChoice {
        OnRedis() {
            super(Choice.REDIS);
        }
    }

    /** The SQL store is chosen. */
    static final class OnJdbi extends OnChoice {
        OnJdbi() {
            super(Choice.JDBI);
        }
    }

    /** The in-memory store is chosen, by the property or for want of another. */
    static final class OnMemory extends OnChoice {
        OnMemory() {
            super(Choice.MEMORY, Choice.MEMORY_DEFAULT);
        }
    }
}
