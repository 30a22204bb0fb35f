package org.idempotency.spring;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.idempotency.api.TypeRef;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.testkit.IdempotencyExecutionContract;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.idempotency.spring.internal.IdempotentMethodInterceptor;
import org.idempotency.spring.internal.MethodPlans;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;
import org.springframework.beans.BeanUtils;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;

/**
 * The test kit's execution contract, run through {@code @Idempotent} methods: every case's work goes through a
 * Spring AOP proxy with the annotation's advice, whose method is annotated with the case's operation (by a
 * placeholder), its key and its request hash, on the case's engine. The stores are supplied by the subclasses.
 */
abstract class AnnotationExecutionContract extends IdempotencyExecutionContract {

    /** The annotated methods: the key is the first argument, the request hash the second (passed through). */
    public abstract static class Driver<T> {
        @Idempotent(key = "#p0", hash = "#p1", operation = "${kit.operation}")
        public T execute(String key, @Nullable String requestHash, Supplier<? extends T> work) {
            return work.get();
        }

        @Idempotent(key = "#p0", hash = "#p1", operation = "${kit.operation}")
        public T call(String key, @Nullable String requestHash, Callable<? extends T> work) throws Exception {
            return work.call();
        }
    }

    public static class StringDriver extends Driver<String> {
    }

    public static class IntegerDriver extends Driver<Integer> {
    }

    public static class OrderDriver extends Driver<Order> {
    }

    public static class OrderListDriver extends Driver<List<Order>> {
    }

    public static class TotalsDriver extends Driver<Map<String, List<Long>>> {
    }

    public static class StampedDriver extends Driver<Stamped> {
    }

    public static class FragileDriver extends Driver<Fragile> {
    }

    public static class VoidDriver extends Driver<Void> {
        @Idempotent(key = "#p0", hash = "#p1", operation = "${kit.operation}")
        public void run(String key, @Nullable String requestHash, Runnable work) {
            work.run();
        }
    }

    private static final Map<String, Class<? extends Driver<?>>> DRIVERS = Map.of(
            TypeRef.of(String.class).toString(), StringDriver.class,
            TypeRef.of(Integer.class).toString(), IntegerDriver.class,
            TypeRef.of(Order.class).toString(), OrderDriver.class,
            new TypeRef<List<Order>>() { }.toString(), OrderListDriver.class,
            new TypeRef<Map<String, List<Long>>>() { }.toString(), TotalsDriver.class,
            TypeRef.of(Stamped.class).toString(), StampedDriver.class,
            TypeRef.of(Fragile.class).toString(), FragileDriver.class,
            TypeRef.of(Void.class).toString(), VoidDriver.class);

    /**
     * One proxied driver per operation of a case, built as the post-processor builds proxies (the annotation's
     * advisor over a bean factory holding the case's engine), but without refreshing a context, so that the first
     * call of a case is not slowed down: several cases depend on short leases.
     */
    private final Map<IdempotentOperation<?>, Driver<?>> drivers = new ConcurrentHashMap<>();

    @AfterEach
    void forgetDrivers() {
        drivers.clear();
    }

    @SuppressWarnings("unchecked")
    private <T> Driver<T> driver(IdempotentOperation<T> operation) {
        return (Driver<T>) drivers.computeIfAbsent(operation, op -> {
            Class<? extends Driver<?>> type = DRIVERS.get(op.type().toString());
            if (type == null) {
                throw new AssertionError("no driver for the result type " + op.type() + "; add one");
            }
            DefaultListableBeanFactory beans = new DefaultListableBeanFactory();
            // the case's engine is the application's (the case closes it); the kit's hashes are passed through
            beans.registerSingleton("idempotency", op.engine());
            beans.registerSingleton("hasher", (RequestHasher) value -> (String) value);
            beans.addEmbeddedValueResolver(value -> value.replace("${kit.operation}", op.name()));
            ProxyFactory proxy = new ProxyFactory(BeanUtils.instantiateClass(type));
            proxy.setProxyTargetClass(true);
            proxy.addAdvisor(new DefaultPointcutAdvisor(new AnnotationMatchingPointcut(null, Idempotent.class, true),
                    new IdempotentMethodInterceptor(new MethodPlans(beans))));
            return (Driver<?>) proxy.getProxy(type.getClassLoader());
        });
    }

    @Override
    protected <T> T execute(IdempotentOperation<T> operation, String key, @Nullable String requestHash,
            Supplier<? extends T> work) {
        Objects.requireNonNull(work, "work must not be null");
        return driver(operation).execute(key, requestHash, work);
    }

    @Override
    protected <T> T call(IdempotentOperation<T> operation, String key, @Nullable String requestHash,
            Callable<? extends T> work) throws Exception {
        Objects.requireNonNull(work, "work must not be null");
        return driver(operation).call(key, requestHash, work);
    }

    @Override
    protected void run(IdempotentOperation<?> operation, String key, @Nullable String requestHash, Runnable work) {
        Objects.requireNonNull(work, "work must not be null");
        Driver<?> driver = driver(operation);
        if (driver instanceof VoidDriver voidDriver) {
            voidDriver.run(key, requestHash, work);
        } else {
            driver.execute(key, requestHash, () -> {
                work.run();
                return null;
            });
        }
    }
}
