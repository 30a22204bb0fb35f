package org.idempotency.spring.boot.actuate;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The store's health for Spring Boot 3's Actuator, whose health types live in another package
 * ({@code org.springframework.boot.actuate.health}) than Spring Boot 4's. This jar is compiled against Spring Boot
 * 4, so the Spring Boot 3 indicator is a proxy of Boot 3's {@code HealthIndicator} interface that builds Boot 3's
 * {@code Health} through its public builder methods ({@code up()}, {@code down(Throwable)},
 * {@code withDetails(Map)}, {@code build()}); it is created only when those types are on the class path.
 */
public final class Boot3HealthIndicators {

    /** Spring Boot 3's health indicator interface. */
    public static final String INDICATOR = "org.springframework.boot.actuate.health.HealthIndicator";
    private static final String HEALTH = "org.springframework.boot.actuate.health.Health";

    private Boot3HealthIndicators() {
    }

    /**
     * A Spring Boot 3 {@code HealthIndicator} over the store's health check.
     *
     * @param health the check
     * @param classLoader the application's class loader
     * @return the indicator
     * @throws IllegalStateException if Spring Boot 3's health types are not there
     */
    public static Object indicator(IdempotencyStoreHealth health, ClassLoader classLoader) {
        try {
            Class<?> indicator = Class.forName(INDICATOR, false, classLoader);
            Class<?> type = Class.forName(HEALTH, false, classLoader);
            Method up = type.getMethod("up");
            Method down = type.getMethod("down", Throwable.class);
            Class<?> builder = up.getReturnType();
            Method withDetails = builder.getMethod("withDetails", Map.class);
            Method build = builder.getMethod("build");
            InvocationHandler handler = new Handler(health, up, down, withDetails, build);
            return Proxy.newProxyInstance(classLoader, new Class<?>[] {indicator}, handler);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Spring Boot 3's Actuator health types are not usable: " + e, e);
        }
    }

    private record Handler(IdempotencyStoreHealth health, Method up, Method down, Method withDetails, Method build)
            implements InvocationHandler {

        @Override
        public @Nullable Object invoke(Object proxy, Method method, Object @Nullable [] args) throws Throwable {
            if (method.getName().equals("health") && method.getParameterCount() == 0) {
                return report();
            }
            if (method.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            return switch (method.getName()) {
                case "toString" -> "IdempotencyHealthIndicator (Spring Boot 3)";
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> args != null && proxy == args[0];
                default -> throw new UnsupportedOperationException(method.toString());
            };
        }

        private Object report() throws ReflectiveOperationException {
            Map<String, Object> details;
            try {
                details = health.check();
            } catch (RuntimeException e) {
                return build.invoke(down.invoke(null, e));
            }
            return build.invoke(withDetails.invoke(up.invoke(null), details));
        }
    }
}
