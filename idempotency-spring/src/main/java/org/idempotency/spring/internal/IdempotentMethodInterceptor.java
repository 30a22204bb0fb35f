package org.idempotency.spring.internal;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.springframework.aop.support.AopUtils;
import org.springframework.util.ClassUtils;

/**
 * The advice of {@code @Idempotent} methods: finds the method's plan and runs the call through it.
 *
 * <p>Thread-safe.
 */
public final class IdempotentMethodInterceptor implements MethodInterceptor {

    private final MethodPlans plans;

    /**
     * An interceptor over the plans.
     *
     * @param plans the plans of the annotated methods
     */
    public IdempotentMethodInterceptor(MethodPlans plans) {
        this.plans = plans;
    }

    @Override
    public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
        Object target = invocation.getThis();
        Class<?> targetClass = target != null ? ClassUtils.getUserClass(AopUtils.getTargetClass(target))
                : invocation.getMethod().getDeclaringClass();
        return plans.planFor(invocation.getMethod(), targetClass).invoke(invocation);
    }
}
