package org.idempotency.spring.boot;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.api.IdempotencyListener;
import org.idempotency.api.ResultCodec;
import org.idempotency.api.spi.IdempotencyStore;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.idempotency.core.JacksonResultCodec;
import org.idempotency.jdbi.JdbiIdempotencyStore;
import org.idempotency.jdbi.SqlDatabase;
import org.idempotency.redis.RedisIdempotencyStore;
import org.idempotency.spring.IdempotencyEngines;
import org.idempotency.spring.IdempotentBeanPostProcessor;
import org.idempotency.spring.JacksonRequestHasher;
import org.idempotency.spring.RequestHasher;
import org.idempotency.spring.TransactionalCompletion;
import org.idempotency.spring.jackson.Jackson3RequestHasher;
import org.idempotency.spring.jackson.Jackson3ResultCodec;
import org.idempotency.spring.jdbc.JdbiTransactionalCompletion;
import org.jdbi.v3.core.Jdbi;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.util.ClassUtils;

/**
 * Auto-configuration of idempotency: the store (chosen by {@code idempotency.store} or from the context), the
 * codec on the application's Jackson mapper, the {@link Idempotency} engine from the {@code idempotency.*}
 * properties, and {@link org.idempotency.spring.Idempotent} on every bean. Every bean backs off when the
 * application defines one of its type.
 *
 * <ul>
 *   <li><b>Store</b>: Redis over the application's {@code RedissonClient}; the SQL store (PostgreSQL) over the
 *       application's {@code DataSource}, its schema created at start unless {@code idempotency.jdbc.create-schema}
 *       is false, and records of {@code @Idempotent} methods completed inside their Spring transactions; or the
 *       in-memory store, with a warning when it was not chosen explicitly, because it does not protect across
 *       instances.</li>
 *   <li><b>Codec</b> and request hashes: on the application's Jackson 3 mapper (Spring Boot 4), else on its Jackson
 *       2 {@code ObjectMapper}, else the core's default.</li>
 * </ul>
 */
@AutoConfiguration(afterName = {
        "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration",
        "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration",
        "org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration",
        "org.springframework.boot.jackson2.autoconfigure.Jackson2AutoConfiguration",
        "org.redisson.spring.starter.RedissonAutoConfigurationV2",
        "org.redisson.spring.starter.RedissonAutoConfiguration"})
@EnableConfigurationProperties(IdempotencyProperties.class)
public class IdempotencyAutoConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyAutoConfiguration.class);

    /** For Spring. */
    public IdempotencyAutoConfiguration() {
    }

    /**
     * The engine, from the properties, the store, the codec, the listener and customizer beans.
     *
     * @param store the store
     * @param codec the codec
     * @param properties the properties
     * @param listeners the listener beans
     * @param customizers the customizer beans
     * @return the engine, closed with the context
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public Idempotency idempotency(IdempotencyStore store, ResultCodec codec, IdempotencyProperties properties,
            ObjectProvider<IdempotencyListener> listeners, ObjectProvider<IdempotencyBuilderCustomizer> customizers) {
        return builder(store, codec, properties, listeners, customizers).build();
    }

    /**
     * The engines of {@code @Idempotent} methods: the default engine, and variants for methods with their own
     * lease, retention or wait, built like the default engine.
     *
     * @param idempotency the default engine
     * @param store the store
     * @param codec the codec
     * @param properties the properties
     * @param listeners the listener beans
     * @param customizers the customizer beans
     * @return the engines
     */
    @Bean
    @ConditionalOnMissingBean
    public IdempotencyEngines idempotencyEngines(Idempotency idempotency, IdempotencyStore store, ResultCodec codec,
            IdempotencyProperties properties, ObjectProvider<IdempotencyListener> listeners,
            ObjectProvider<IdempotencyBuilderCustomizer> customizers) {
        return new IdempotencyEngines(idempotency, () -> builder(store, codec, properties, listeners, customizers));
    }

    static Idempotency.Builder builder(IdempotencyStore store, ResultCodec codec, IdempotencyProperties properties,
            ObjectProvider<IdempotencyListener> listeners, ObjectProvider<IdempotencyBuilderCustomizer> customizers) {
        long maxResultBytes = properties.getMaxResultSize().toBytes();
        if (maxResultBytes <= 0 || maxResultBytes > Integer.MAX_VALUE) {
            throw new IdempotencyConfigurationException("idempotency.max-result-size must be between 1B and 2GB, was "
                    + properties.getMaxResultSize());
        }
        Idempotency.Builder builder = Idempotency.builder(store)
                .codec(codec)
                .lease(properties.getLease())
                .retention(properties.getRetention())
                .waitForInProgress(properties.getWaitForInProgress())
                .maxExecutionTime(properties.getMaxExecutionTime())
                .maxResultBytes((int) maxResultBytes)
                .failOpen(properties.isFailOpen())
                .purgeInterval(properties.getPurgeInterval());
        listeners.orderedStream().forEach(builder::listener);
        // Observability: the idempotency-micrometer module (Observation-based metrics and traces) is not part of
        // this build yet. When it is, a configuration here registers its listener for a MeterRegistry or an
        // ObservationRegistry bean; until then, any IdempotencyListener bean (above) receives every event.
        customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
        return builder;
    }

    /**
     * The post-processor behind {@code @Idempotent}.
     *
     * @param environment for {@code idempotency.fail-on-self-invocation}
     * @return the post-processor
     */
    @Bean(name = IdempotentBeanPostProcessor.BEAN_NAME)
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    @ConditionalOnMissingBean(IdempotentBeanPostProcessor.class)
    public static IdempotentBeanPostProcessor idempotentBeanPostProcessor(Environment environment) {
        IdempotentBeanPostProcessor processor = new IdempotentBeanPostProcessor();
        processor.setFailOnSelfInvocation(Binder.get(environment)
                .bind("idempotency.fail-on-self-invocation", Boolean.class).orElse(true));
        return processor;
    }

    /** The Redis store over the application's {@code RedissonClient}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({RedisIdempotencyStore.class, RedissonClient.class})
    @ConditionalOnMissingBean(IdempotencyStore.class)
    @Conditional(StoreSelection.OnRedis.class)
    static class RedisStoreConfiguration {

        @Bean
        RedisIdempotencyStore idempotencyStore(ObjectProvider<RedissonClient> redisson, IdempotencyProperties properties) {
            RedissonClient client = redisson.getIfUnique();
            if (client == null) {
                throw new IdempotencyConfigurationException("The Redis idempotency store needs one RedissonClient bean"
                        + " (or a @Primary one); none was found");
            }
            LOG.debug("Idempotency store: Redis, key prefix {}", properties.getRedis().getKeyPrefix());
            return RedisIdempotencyStore.builder(client).keyPrefix(properties.getRedis().getKeyPrefix()).build();
        }
    }

    /**
     * The SQL store over the application's {@code DataSource}, and the completion of {@code @Idempotent} records
     * inside the Spring transactions of that {@code DataSource}.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({JdbiIdempotencyStore.class, Jdbi.class})
    @ConditionalOnMissingBean(IdempotencyStore.class)
    @Conditional(StoreSelection.OnJdbi.class)
    static class JdbiStoreConfiguration {

        private static final String TRANSACTION_AWARE =
                "org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy";

        @Bean
        JdbiIdempotencyStore idempotencyStore(ObjectProvider<DataSource> dataSources, IdempotencyProperties properties) {
            DataSource dataSource = storeDataSource(dataSources);
            SqlDatabase database = databaseOf(dataSource);
            IdempotencyProperties.Jdbc jdbc = properties.getJdbc();
            JdbiIdempotencyStore store = JdbiIdempotencyStore.builder(Jdbi.create(dataSource))
                    .database(database)
                    .table(jdbc.getTable())
                    .purgeBatchSize(jdbc.getPurgeBatchSize())
                    .build();
            if (jdbc.isCreateSchema()) {
                store.createSchema();
            }
            LOG.debug("Idempotency store: SQL on {}, table {}", database, store.table());
            return store;
        }

        static DataSource storeDataSource(ObjectProvider<DataSource> dataSources) {
            DataSource dataSource = dataSources.getIfUnique();
            if (dataSource == null) {
                throw new IdempotencyConfigurationException("The SQL idempotency store needs one DataSource bean (or a"
                        + " @Primary one)");
            }
            // the store's own statements must commit at once, on connections of their own
            return ClassUtils.isPresent(TRANSACTION_AWARE, JdbiStoreConfiguration.class.getClassLoader())
                    ? TransactionAware.unwrap(dataSource) : dataSource;
        }

        /** The database behind the DataSource, as its driver names it: PostgreSQL or MariaDB. */
        static SqlDatabase databaseOf(DataSource dataSource) {
            String product;
            try (Connection connection = dataSource.getConnection()) {
                product = connection.getMetaData().getDatabaseProductName();
            } catch (SQLException e) {
                throw new IdempotencyConfigurationException("The SQL idempotency store cannot reach its DataSource: "
                        + e.getMessage(), e);
            }
            if ("PostgreSQL".equalsIgnoreCase(product)) {
                return SqlDatabase.POSTGRESQL;
            }
            if ("MariaDB".equalsIgnoreCase(product)) {
                return SqlDatabase.MARIADB;
            }
            throw new IdempotencyConfigurationException("The SQL idempotency store supports PostgreSQL and MariaDB,"
                    + " and this DataSource is " + product + "; set idempotency.store=redis or"
                    + " idempotency.store=memory, or define an IdempotencyStore bean");
        }

        /** Loaded only when spring-jdbc is there. */
        private static final class TransactionAware {
            static DataSource unwrap(DataSource dataSource) {
                return dataSource instanceof TransactionAwareDataSourceProxy proxy
                        && proxy.getTargetDataSource() != null ? proxy.getTargetDataSource() : dataSource;
            }
        }

        /** Joins the transactions of the application's {@code DataSource}. */
        @Configuration(proxyBeanMethods = false)
        @ConditionalOnClass(name = {"org.springframework.jdbc.datasource.DataSourceUtils",
                "org.springframework.transaction.support.TransactionSynchronizationManager"})
        static class TransactionalCompletionConfiguration {

            @Bean
            @ConditionalOnMissingBean
            @ConditionalOnSingleCandidate(DataSource.class)
            TransactionalCompletion idempotencyTransactionalCompletion(JdbiIdempotencyStore store,
                    DataSource dataSource) {
                return new JdbiTransactionalCompletion(store, dataSource);
            }
        }
    }

    /** The in-memory store: chosen, or for want of another. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean(IdempotencyStore.class)
    @Conditional(StoreSelection.OnMemory.class)
    static class MemoryStoreConfiguration {

        @Bean
        InMemoryIdempotencyStore idempotencyStore(Environment environment) {
            if (environment.getProperty(StoreSelection.PROPERTY) == null) {
                LOG.warn("No RedissonClient or DataSource bean and no idempotency.store: @Idempotent methods run over"
                        + " the in-memory store, which does NOT protect across instances (nor across restarts). Add"
                        + " Redis or PostgreSQL, or set idempotency.store=memory to say this is intended.");
            } else {
                LOG.info("Idempotency store: in memory (this instance only)");
            }
            return InMemoryIdempotencyStore.create();
        }
    }

    /** The codec and the request hasher on the application's Jackson 3 mapper (Spring Boot 4). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "tools.jackson.databind.ObjectMapper")
    @ConditionalOnBean(type = "tools.jackson.databind.ObjectMapper")
    static class Jackson3Configuration {

        @Bean
        @ConditionalOnMissingBean
        ResultCodec idempotencyResultCodec(tools.jackson.databind.ObjectMapper mapper) {
            return Jackson3ResultCodec.using(mapper);
        }

        @Bean
        @ConditionalOnMissingBean
        RequestHasher idempotencyRequestHasher(tools.jackson.databind.ObjectMapper mapper) {
            return Jackson3RequestHasher.using(mapper);
        }
    }

    /** The codec and the request hasher on the application's Jackson 2 mapper (Spring Boot 3). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnBean(com.fasterxml.jackson.databind.ObjectMapper.class)
    @ConditionalOnMissingBean(type = "tools.jackson.databind.ObjectMapper")
    static class Jackson2Configuration {

        @Bean
        @ConditionalOnMissingBean
        ResultCodec idempotencyResultCodec(com.fasterxml.jackson.databind.ObjectMapper mapper) {
            return JacksonResultCodec.using(mapper);
        }

        @Bean
        @ConditionalOnMissingBean
        RequestHasher idempotencyRequestHasher(com.fasterxml.jackson.databind.ObjectMapper mapper) {
            return JacksonRequestHasher.using(mapper);
        }
    }

    /** The core's codec and hasher, when the application has no mapper. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean(type = {"tools.jackson.databind.ObjectMapper",
            "com.fasterxml.jackson.databind.ObjectMapper"})
    static class DefaultCodecConfiguration {

        @Bean
        @ConditionalOnMissingBean
        ResultCodec idempotencyResultCodec() {
            return JacksonResultCodec.create();
        }

        @Bean
        @ConditionalOnMissingBean
        RequestHasher idempotencyRequestHasher() {
            return JacksonRequestHasher.create();
        }
    }
}
