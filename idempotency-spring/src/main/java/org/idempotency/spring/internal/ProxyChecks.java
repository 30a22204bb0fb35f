package org.idempotency.spring.internal;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.idempotency.spring.Idempotent;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.support.AopUtils;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ClassUtils;
import org.springframework.util.ReflectionUtils;

/**
 * What a Spring AOP proxy cannot do for one bean's {@link Idempotent} methods, found when the bean is processed:
 * methods the proxy does not intercept, and calls from the bean to itself. Findings are exceptions that fail the
 * start (self-invocations may be WARN lines instead).
 */
public final class ProxyChecks {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyChecks.class);
    private static final ConcurrentMap<Class<?>, Map<Method, Idempotent>> ANNOTATED = new ConcurrentHashMap<>();

    private final String beanName;
    private final Class<?> targetClass;
    private final Object exposed;
    private final Map<Method, Idempotent> annotated;
    private final boolean failOnSelfInvocation;

    private ProxyChecks(String beanName, Class<?> targetClass, Object exposed, Map<Method, Idempotent> annotated,
            boolean failOnSelfInvocation) {
        this.beanName = beanName;
        this.targetClass = targetClass;
        this.exposed = exposed;
        this.annotated = annotated;
        this.failOnSelfInvocation = failOnSelfInvocation;
    }

    /**
     * The checks of a bean that has annotated methods, or {@code null} for a bean without any.
     *
     * @param bean the bean as created
     * @param beanName its name
     * @param exposed what the context exposes: a proxy, or the bean itself if it was not proxied
     * @param failOnSelfInvocation whether a self-invocation fails the start
     * @return the checks, or {@code null}
     */
    public static @Nullable ProxyChecks of(Object bean, String beanName, Object exposed,
            boolean failOnSelfInvocation) {
        Class<?> targetClass = ClassUtils.getUserClass(AopUtils.getTargetClass(bean));
        Map<Method, Idempotent> annotated = annotatedMethods(targetClass);
        if (annotated.isEmpty()) {
            return null;
        }
        return new ProxyChecks(beanName, targetClass, exposed, annotated, failOnSelfInvocation);
    }

    /**
     * The methods of a class (declared or inherited, the annotation possibly on an interface or superclass
     * method it overrides) that are {@link Idempotent}, with their merged annotation.
     *
     * @param type the user class
     * @return the annotated methods, the most specific declaration of each
     */
    public static Map<Method, Idempotent> annotatedMethods(Class<?> type) {
        return ANNOTATED.computeIfAbsent(type, ProxyChecks::findAnnotated);
    }

    private static Map<Method, Idempotent> findAnnotated(Class<?> type) {
        Map<Method, Idempotent> found = new LinkedHashMap<>();
        Set<Class<?>> interfaces = ClassUtils.getAllInterfacesForClassAsSet(type);
        List<Class<?>> searched = new ArrayList<>();
        for (Class<?> current = type; current != null && current != Object.class;
                current = current.getSuperclass()) {
            searched.add(current);
        }
        searched.addAll(interfaces);
        for (Class<?> declaring : searched) {
            for (Method method : declaring.getDeclaredMethods()) {
                if (method.isBridge() || method.isSynthetic()) {
                    continue;
                }
                Method specific = ClassUtils.getMostSpecificMethod(method, type);
                if (found.containsKey(specific)) {
                    continue;
                }
                Idempotent annotation = AnnotatedElementUtils.findMergedAnnotation(specific, Idempotent.class);
                if (annotation != null) {
                    found.put(specific, annotation);
                }
            }
        }
        return Map.copyOf(found);
    }

    /**
     * The user class of the bean.
     *
     * @return the bean's own class, never a generated proxy class
     */
    public Class<?> targetClass() {
        return targetClass;
    }

    /**
     * The bean's annotated methods.
     *
     * @return each annotated method with its merged {@link Idempotent} annotation
     */
    public Map<Method, Idempotent> annotatedMethods() {
        return annotated;
    }

    /**
     * Checks that the exposed object intercepts every annotated method, and that the class does not call its own
     * annotated methods.
     *
     * @throws IllegalStateException naming the method and what to change
     */
    public void checkProxy() {
        List<String> problems = new ArrayList<>();
        boolean proxied = AopUtils.isAopProxy(exposed) && exposed instanceof Advised;
        boolean classProxy = AopUtils.isCglibProxy(exposed);
        for (Method method : annotated.keySet()) {
            String where = describe(method);
            int modifiers = method.getModifiers();
            if (Modifier.isPrivate(modifiers)) {
                problems.add(where + " is private: a proxy never intercepts it; make it public");
            } else if (Modifier.isStatic(modifiers)) {
                problems.add(where + " is static: a proxy never intercepts it; make it an instance method");
            } else if (!proxied) {
                problems.add(where + " is on a bean that was not proxied (it was created before the"
                        + " idempotency post-processor, or is infrastructure); make it an ordinary bean");
            } else if (classProxy && Modifier.isFinal(modifiers)) {
                problems.add(where + " is final: a class-based proxy cannot override it; remove 'final'");
            } else if (classProxy && !Modifier.isPublic(modifiers) && !Modifier.isProtected(modifiers)
                    && !samePackageVisible(method)) {
                problems.add(where + " is not visible to its proxy; make it public");
            } else if (!classProxy && !onProxiedInterface(method)) {
                problems.add(where + " is not declared by an interface of its interface-based proxy, so calls"
                        + " through the proxy never reach it as an idempotent method; declare it on the"
                        + " interface, or use class-based proxies");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("@Idempotent cannot work on bean '" + beanName + "': "
                    + String.join("; ", problems));
        }
        List<String> selfCalls = SelfInvocationScanner.scan(targetClass, annotated.keySet());
        if (!selfCalls.isEmpty()) {
            String message = "Bean '" + beanName + "' calls its own @Idempotent methods, bypassing the proxy, so"
                    + " those calls are not idempotent: " + String.join("; ", selfCalls) + ". Call them through"
                    + " the bean (inject it where the call is made, or move the method to another bean).";
            if (failOnSelfInvocation) {
                throw new IllegalStateException(message + " (Set idempotency.fail-on-self-invocation=false to"
                        + " log this instead.)");
            }
            LOG.warn(message);
        }
    }

    private boolean samePackageVisible(Method method) {
        // a package-private method is intercepted by a class proxy defined in the same package and class loader
        return ClassUtils.getPackageName(method.getDeclaringClass()).equals(ClassUtils.getPackageName(targetClass));
    }

    private boolean onProxiedInterface(Method method) {
        for (Class<?> proxied : ((Advised) exposed).getProxiedInterfaces()) {
            if (ReflectionUtils.findMethod(proxied, method.getName(), method.getParameterTypes()) != null) {
                return true;
            }
        }
        return false;
    }

    /** A method as {@code Type.name(ParameterType, ...)} for messages. */
    static String describe(Method method) {
        StringBuilder text = new StringBuilder(method.getDeclaringClass().getSimpleName()).append('.')
                .append(method.getName()).append('(');
        Class<?>[] parameters = method.getParameterTypes();
        for (int i = 0; i < parameters.length; i++) {
            text.append(i == 0 ? "" : ", ").append(parameters[i].getSimpleName());
        }
        return text.append(')').toString();
    }
}
