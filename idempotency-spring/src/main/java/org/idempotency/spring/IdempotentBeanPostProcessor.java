package org.idempotency.spring;

import java.util.ArrayList;
import java.util.List;
import org.idempotency.spring.internal.IdempotentMethodInterceptor;
import org.idempotency.spring.internal.MethodPlans;
import org.idempotency.spring.internal.ProxyChecks;
import org.springframework.aop.framework.autoproxy.AbstractBeanFactoryAwareAdvisingPostProcessor;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;

/**
 * Puts the beans that have {@link Idempotent} methods behind Spring AOP proxies, and checks, for each such bean,
 * what a proxy cannot do, so that it is reported when the context starts rather than silently ignored:
 * <ul>
 *   <li>a {@code private} or {@code static} annotated method, a {@code final} one under a class proxy, or one
 *       missing from the proxied interfaces under an interface proxy (never intercepted);</li>
 *   <li>a call from the bean to one of its own annotated methods ({@code this.create(...)}, or
 *       {@code this::create}), found in the class's bytecode: it does not go through the proxy;</li>
 *   <li>an annotated method returning an asynchronous type (its future, not its result, would be stored), a
 *       return type without a concrete result type, a key expression missing outside controllers, an expression
 *       that does not parse, two methods with one default operation name, and settings the engine refuses.</li>
 * </ul>
 * A finding fails the start with an exception naming the method; self-invocations can be downgraded to a WARN
 * line with {@link #setFailOnSelfInvocation(boolean) setFailOnSelfInvocation(false)}.
 *
 * <p>The advice is added to a bean's existing proxy after its other advisors, so it runs inside them: inside
 * {@code @Transactional}, whatever the order in which the post-processors ran, which is what lets a record be
 * completed in the method's transaction. Class-based proxies are used by default (as Spring Boot does).
 *
 * <p>The collaborators ({@link IdempotencyEngines} or an {@link org.idempotency.core.Idempotency}, and the
 * optional {@link RequestHasher} and {@link TransactionalCompletion}) are looked up once all singletons are
 * created, and each method's plan (key and hash expressions, engine, result type) is prepared then.
 *
 * <p>Thread-safe once the context is refreshed.
 */
public class IdempotentBeanPostProcessor extends AbstractBeanFactoryAwareAdvisingPostProcessor
        implements SmartInitializingSingleton {

    private static final long serialVersionUID = 1L;

    /** The name under which {@link EnableIdempotency} and the starter register it. */
    public static final String BEAN_NAME = "org.idempotency.spring.idempotentBeanPostProcessor";

    private transient MethodPlans plans;
    /** Whether a call from a bean to its own {@link Idempotent} method fails the start, or is only logged. */
    private boolean failOnSelfInvocation = true;
    private final transient List<Runnable> deferredChecks = new ArrayList<>();
    /** Whether the singletons are instantiated: plans of beans created from then on are prepared at once. */
    private volatile boolean started;

    /** A post-processor with class-based proxies, failing on self-invocations. */
    public IdempotentBeanPostProcessor() {
        setProxyTargetClass(true);
        setBeforeExistingAdvisors(false);
    }

    /**
     * Whether a call from a bean to its own {@link Idempotent} method fails the start (the default) or is
     * logged as a WARN line.
     *
     * @param failOnSelfInvocation {@code true} to fail
     */
    public void setFailOnSelfInvocation(boolean failOnSelfInvocation) {
        this.failOnSelfInvocation = failOnSelfInvocation;
    }

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        super.setBeanFactory(beanFactory);
        if (!(beanFactory instanceof ConfigurableListableBeanFactory listable)) {
            throw new IllegalStateException("IdempotentBeanPostProcessor needs a ConfigurableListableBeanFactory,"
                    + " got " + beanFactory.getClass().getName());
        }
        this.plans = new MethodPlans(listable);
        AnnotationMatchingPointcut pointcut = new AnnotationMatchingPointcut(null, Idempotent.class, true);
        this.advisor = new DefaultPointcutAdvisor(pointcut, new IdempotentMethodInterceptor(plans));
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        Object result = super.postProcessAfterInitialization(bean, beanName);
        ProxyChecks checks = ProxyChecks.of(bean, beanName, result, failOnSelfInvocation);
        if (checks != null) {
            checks.checkProxy();
            Runnable prepare = () -> plans.prepare(checks.targetClass(), checks.annotatedMethods());
            if (started) {
                prepare.run();
            } else {
                synchronized (deferredChecks) {
                    deferredChecks.add(prepare);
                }
            }
        }
        return result;
    }

    /** Prepares the plans of every annotated method of the singletons, failing the start on a bad one. */
    @Override
    public void afterSingletonsInstantiated() {
        List<Runnable> checks;
        synchronized (deferredChecks) {
            checks = List.copyOf(deferredChecks);
            deferredChecks.clear();
            started = true;
        }
        checks.forEach(Runnable::run);
    }
}
