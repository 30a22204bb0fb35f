package org.idempotency.spring.internal;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;
import org.idempotency.api.IdempotencyConfigurationException;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotencyKeys;
import org.idempotency.core.RequestHashes;
import org.idempotency.spring.IdempotencyEngines;
import org.idempotency.spring.Idempotent;
import org.idempotency.spring.JacksonRequestHasher;
import org.idempotency.spring.RequestHasher;
import org.idempotency.spring.TransactionalCompletion;
import org.jspecify.annotations.Nullable;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.expression.BeanFactoryResolver;
import org.springframework.core.MethodClassKey;
import org.springframework.expression.Expression;
import org.springframework.expression.ParseException;
import org.springframework.expression.spel.SpelCompilerMode;
import org.springframework.expression.spel.SpelParserConfiguration;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.format.datetime.standard.DurationFormatterUtils;
import org.springframework.util.ClassUtils;

/**
 * Prepares and keeps the {@link MethodPlan} of each {@code @Idempotent} method of each bean class. Preparing a
 * plan checks everything that can be checked before the first call (expressions, engine settings, the codec's
 * support for the result type, operation names), so that a mistake fails the start of the context.
 *
 * <p>Thread-safe.
 */
public final class MethodPlans {

    private static final Pattern OPERATION_CHARACTERS = Pattern.compile("[^A-Za-z0-9._-]");

    private final ConfigurableListableBeanFactory beanFactory;
    /** Expressions run interpreted at first, then compiled to bytecode once their types are known. */
    private final SpelExpressionParser parser = new SpelExpressionParser(
            new SpelParserConfiguration(SpelCompilerMode.MIXED, MethodPlans.class.getClassLoader()));
    private final ConcurrentMap<MethodClassKey, MethodPlan> plans = new ConcurrentHashMap<>();
    /** The plans by the method a proxy was invoked with (an interface's, for example), for the calls. */
    private final ConcurrentMap<MethodClassKey, MethodPlan> invokedPlans = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Method> defaultNames = new ConcurrentHashMap<>();
    private volatile @Nullable Collaborators collaborators;

    /**
     * Plans over a bean factory, where the collaborators are looked up on first use.
     *
     * @param beanFactory the application's bean factory
     */
    public MethodPlans(ConfigurableListableBeanFactory beanFactory) {
        this.beanFactory = beanFactory;
    }

    /**
     * Prepares the plans of a bean class's annotated methods.
     *
     * @param targetClass the user class
     * @param annotated its annotated methods
     * @throws IllegalStateException naming the first method whose plan cannot be made
     */
    public void prepare(Class<?> targetClass, Map<Method, Idempotent> annotated) {
        annotated.keySet().forEach(method -> planFor(method, targetClass));
    }

    /**
     * The plan for a method invoked on a bean of {@code targetClass}.
     *
     * @param invoked the method as the proxy saw it
     * @param targetClass the bean's user class
     * @return the plan
     * @throws IllegalStateException if the method is not annotated, or its plan cannot be made
     */
    MethodPlan planFor(Method invoked, Class<?> targetClass) {
        MethodPlan plan = invokedPlans.get(new MethodClassKey(invoked, targetClass));
        if (plan == null) {
            Method specific = AopUtils.getMostSpecificMethod(invoked, targetClass);
            plan = plans.computeIfAbsent(new MethodClassKey(specific, targetClass), k -> build(specific, targetClass));
            invokedPlans.putIfAbsent(new MethodClassKey(invoked, targetClass), plan);
        }
        return plan;
    }

    private MethodPlan build(Method method, Class<?> targetClass) {
        Idempotent annotation = ProxyChecks.annotatedMethods(targetClass).get(method);
        String where = ProxyChecks.describe(method);
        if (annotation == null) {
            throw new IllegalStateException(where + " is not @Idempotent");
        }
        try {
            Collaborators with = collaborators();
            Idempotency engine = with.engines().engine(duration(annotation.lease(), "lease", where),
                    duration(annotation.retention(), "retention", where),
                    duration(annotation.waitForInProgress(), "waitForInProgress", where));
            return new MethodPlan(method, targetClass, annotation, operationName(annotation, method, targetClass),
                    engine, expression(annotation.key(), "key", where), expression(annotation.hash(), "hash", where),
                    with, where);
        } catch (IdempotencyConfigurationException | IllegalArgumentException e) {
            throw new IllegalStateException("@Idempotent on " + where + ": " + e.getMessage(), e);
        }
    }

    private @Nullable Expression expression(String text, String attribute, String where) {
        if (text.isBlank()) {
            return null;
        }
        try {
            return parser.parseExpression(text);
        } catch (ParseException e) {
            throw new IllegalArgumentException("the " + attribute + " expression '" + text + "' does not parse: "
                    + e.getMessage(), e);
        }
    }

    private @Nullable Duration duration(String text, String attribute, String where) {
        if (text.isBlank()) {
            return null;
        }
        String resolved = beanFactory.resolveEmbeddedValue(text);
        if (resolved == null || resolved.isBlank()) {
            return null;
        }
        try {
            Duration duration = DurationFormatterUtils.detectAndParse(resolved.trim());
            if (duration.isNegative() || (duration.isZero() && !attribute.equals("waitForInProgress"))) {
                throw new IllegalArgumentException("the " + attribute + " must be positive, was '" + resolved + "'");
            }
            return duration;
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("the ")) {
                throw e;
            }
            throw new IllegalArgumentException("the " + attribute + " '" + resolved + "' is not a duration (such as"
                    + " 30s, 500ms, PT30S)", e);
        }
    }

    private String operationName(Idempotent annotation, Method method, Class<?> targetClass) {
        if (!annotation.operation().isBlank()) {
            String resolved = beanFactory.resolveEmbeddedValue(annotation.operation());
            return IdempotencyKeys.validateOperation(resolved == null ? "" : resolved.trim());
        }
        String name = defaultOperationName(targetClass, method);
        Method existing = defaultNames.putIfAbsent(name, method);
        if (existing != null && !existing.equals(method)) {
            throw new IllegalArgumentException("its default operation name '" + name + "' is also that of "
                    + ProxyChecks.describe(existing) + " in " + existing.getDeclaringClass().getName() + "; give one"
                    + " of them @Idempotent(operation = \"...\")");
        }
        return name;
    }

    /**
     * {@code SimpleClassName.method}, with characters an operation name cannot hold replaced by {@code _}; a
     * name over 64 characters keeps its first 55 and a hash of the whole.
     */
    static String defaultOperationName(Class<?> targetClass, Method method) {
        String full = ClassUtils.getUserClass(targetClass).getSimpleName() + "." + method.getName();
        String name = OPERATION_CHARACTERS.matcher(full).replaceAll("_");
        if (name.length() > IdempotencyKeys.MAX_OPERATION_LENGTH) {
            String digest = RequestHashes.sha256(full.getBytes(StandardCharsets.UTF_8)).substring(0, 8);
            name = name.substring(0, IdempotencyKeys.MAX_OPERATION_LENGTH - 9) + "-" + digest;
        }
        return name;
    }

    private Collaborators collaborators() {
        Collaborators found = collaborators;
        if (found == null) {
            synchronized (this) {
                found = collaborators;
                if (found == null) {
                    found = lookUp();
                    collaborators = found;
                }
            }
        }
        return found;
    }

    private Collaborators lookUp() {
        IdempotencyEngines engines = beanFactory.getBeanProvider(IdempotencyEngines.class).getIfUnique();
        if (engines == null) {
            Idempotency engine = beanFactory.getBeanProvider(Idempotency.class).getIfUnique();
            if (engine == null) {
                throw new IllegalArgumentException("no Idempotency bean (or IdempotencyEngines bean) is defined, or"
                        + " several are and none is @Primary; define the engine the annotated methods run on");
            }
            engines = IdempotencyEngines.of(engine);
        }
        RequestHasher hasher = beanFactory.getBeanProvider(RequestHasher.class).getIfUnique();
        ObjectProvider<TransactionalCompletion> completion =
                beanFactory.getBeanProvider(TransactionalCompletion.class);
        return new Collaborators(engines, hasher != null ? hasher : JacksonRequestHasher.create(), completion,
                new BeanFactoryResolver(beanFactory));
    }

    /** What the plans share: the engines, the hasher, the transactional completion and the bean resolver. */
    record Collaborators(IdempotencyEngines engines, RequestHasher hasher,
            ObjectProvider<TransactionalCompletion> completion, BeanFactoryResolver beans) {
    }
}
