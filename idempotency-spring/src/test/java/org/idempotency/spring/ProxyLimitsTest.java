package org.idempotency.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.idempotency.core.Idempotency;
import org.idempotency.core.InMemoryIdempotencyStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;

/**
 * What a Spring AOP proxy cannot do is reported when the context starts, naming the method, never silently
 * ignored.
 */
class ProxyLimitsTest {

    private static final Idempotency ENGINE = Idempotency.builder(InMemoryIdempotencyStore.create()).build();

    @AfterAll
    static void close() {
        ENGINE.close();
    }

    @Configuration(proxyBeanMethods = false)
    @EnableIdempotency
    static class Base {
    }

    private static AnnotationConfigApplicationContext start(Class<?>... beans) {
        AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext();
        context.registerBean(Idempotency.class, () -> ENGINE);
        context.registerBean(IdempotencyEngines.class,
                () -> new IdempotencyEngines(ENGINE, () -> Idempotency.builder(InMemoryIdempotencyStore.create())));
        context.register(Base.class);
        for (Class<?> bean : beans) {
            context.registerBean(bean);
        }
        context.refresh();
        return context;
    }

    private static String failure(Class<?>... beans) {
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> start(beans).close());
        assertThat(thrown).as("the context must not start").isNotNull();
        StringBuilder messages = new StringBuilder();
        for (Throwable cause = thrown; cause != null; cause = cause.getCause()) {
            messages.append(cause.getMessage()).append('\n');
        }
        return messages.toString();
    }

    public static class FinalMethod {
        @Idempotent(key = "#id")
        public final String create(String id) {
            return id;
        }
    }

    public static class PrivateMethod {
        @Idempotent(key = "#id")
        private String create(String id) {
            return id;
        }

        public String call(String id) {
            return create(id);
        }
    }

    public static class DirectSelfCall {
        @Idempotent(key = "#id")
        public String create(String id) {
            return id;
        }

        public List<String> createAll(List<String> ids) {
            return ids.stream().map(id -> create(id)).toList();
        }
    }

    public static class ReferenceSelfCall {
        @Idempotent(key = "#id")
        public String create(String id) {
            return id;
        }

        public List<String> createAll(List<String> ids) {
            return ids.stream().map(this::create).toList();
        }
    }

    public static class ThisSelfCall {
        @Idempotent(key = "#id")
        public String create(String id) {
            return id;
        }

        public String createTwice(String id) {
            this.create(id + "-1");
            return this.create(id + "-2");
        }
    }

    /** Calls through an injected reference to itself go through the proxy: not reported. */
    public static class InjectedSelf {
        @Autowired
        @Lazy
        InjectedSelf self;
        Function<String, String> creator;

        @Idempotent(key = "#id")
        public String create(String id) {
            return id;
        }

        public String createThroughSelf(String id) {
            return self.create(id);
        }

        public String createThroughReference(String id) {
            creator = self::create;
            return creator.apply(id);
        }
    }

    public static class AsyncResult {
        @Idempotent(key = "#id")
        public CompletableFuture<String> create(String id) {
            return CompletableFuture.completedFuture(id);
        }
    }

    public static class ObjectResult {
        @Idempotent(key = "#id")
        public Object create(String id) {
            return id;
        }
    }

    public static class NoKey {
        @Idempotent
        public String create(String id) {
            return id;
        }
    }

    public static class Overloads {
        @Idempotent(key = "#id")
        public String create(String id) {
            return id;
        }

        @Idempotent(key = "#id")
        public String create(String id, int copies) {
            return id.repeat(copies);
        }
    }

    public static class BadExpression {
        @Idempotent(key = "#id +")
        public String create(String id) {
            return id;
        }
    }

    public static class BadLease {
        @Idempotent(key = "#id", lease = "soon")
        public String create(String id) {
            return id;
        }
    }

    public static class LeaseOverRetention {
        @Idempotent(key = "#id", lease = "2h", retention = "1h")
        public String create(String id) {
            return id;
        }
    }

    public static class BadOperation {
        @Idempotent(key = "#id", operation = "orders:create")
        public String create(String id) {
            return id;
        }
    }

    /** A type the codec cannot read back: no usable constructor. */
    public static final class Opaque {
        private final String value;

        public Opaque(String value, int copies) {
            this.value = value.repeat(copies);
        }

        @Override
        public String toString() {
            return value;
        }
    }

    public static class UnreadableResult {
        @Idempotent(key = "#id")
        public Opaque create(String id) {
            return new Opaque(id, 1);
        }
    }

    public static class Fine {
        @Value("${unused:x}")
        String unused;

        @Idempotent(key = "#id")
        public String create(String id) {
            return id;
        }
    }

    @Test
    @DisplayName("a final method under a class proxy is reported")
    void finalMethod() {
        assertThat(failure(FinalMethod.class)).contains("FinalMethod.create(String) is final");
    }

    @Test
    @DisplayName("a private method is reported")
    void privateMethod() {
        assertThat(failure(PrivateMethod.class)).contains("PrivateMethod.create(String) is private");
    }

    @Test
    @DisplayName("calls to its own annotated method are reported: direct, in a lambda, this::method, this.method")
    void selfInvocation() {
        assertThat(failure(DirectSelfCall.class)).contains("calls its own @Idempotent methods")
                .contains("a lambda in DirectSelfCall calls create");
        assertThat(failure(ReferenceSelfCall.class)).contains("ReferenceSelfCall.createAll passes this::create");
        assertThat(failure(ThisSelfCall.class)).contains("ThisSelfCall.createTwice calls create");
    }

    @Test
    @DisplayName("calls through an injected self-reference are not reported, and a self-invocation can be a warning")
    void injectedSelfAndWarning() {
        try (AnnotationConfigApplicationContext context = start(InjectedSelf.class)) {
            InjectedSelf bean = context.getBean(InjectedSelf.class);
            assertThat(bean.createThroughSelf("a")).isEqualTo("a");
        }
        AnnotationConfigApplicationContext lenient = new AnnotationConfigApplicationContext();
        lenient.registerBean(Idempotency.class, () -> ENGINE);
        lenient.register(Base.class);
        lenient.registerBean(DirectSelfCall.class);
        lenient.addBeanFactoryPostProcessor(factory -> factory.getBeanDefinition(IdempotentBeanPostProcessor.BEAN_NAME)
                .getPropertyValues().add("failOnSelfInvocation", false));
        lenient.refresh();
        assertThat(lenient.getBean(DirectSelfCall.class).create("k")).isEqualTo("k");
        lenient.close();
    }

    @Test
    @DisplayName("an asynchronous or untyped result, or a missing key, is reported")
    void resultsAndKeys() {
        assertThat(failure(AsyncResult.class)).contains("AsyncResult.create(String)").contains("asynchronous result");
        assertThat(failure(ObjectResult.class)).contains("ObjectResult.create(String)").contains("not a concrete type");
        assertThat(failure(NoKey.class)).contains("NoKey.create(String)").contains("it has no key");
        assertThat(failure(UnreadableResult.class)).contains("UnreadableResult.create(String)")
                .contains("no constructor Jackson can use");
    }

    @Test
    @DisplayName("overloads sharing a default operation name, bad expressions and bad settings are reported")
    void namesAndSettings() {
        assertThat(failure(Overloads.class)).contains("default operation name 'Overloads.create' is also that of")
                .contains("Overloads.create(String, int)");
        assertThat(failure(BadExpression.class)).contains("the key expression '#id +' does not parse");
        assertThat(failure(BadLease.class)).contains("the lease 'soon' is not a duration");
        assertThat(failure(LeaseOverRetention.class)).contains("LeaseOverRetention.create(String)")
                .contains("the lease (PT2H) must not be longer than the retention (PT1H)");
        assertThat(failure(BadOperation.class)).contains("BadOperation.create(String)").contains("orders:create");
    }

    @Test
    @DisplayName("a correct bean starts and is proxied")
    void fine() {
        try (AnnotationConfigApplicationContext context = start(Fine.class)) {
            assertThat(context.getBean(Fine.class).create("k")).isEqualTo("k");
        }
    }
}
