package org.idempotency.spring.internal;

import java.lang.reflect.Method;
import org.jspecify.annotations.Nullable;

/**
 * The root object of {@code @Idempotent} expressions: {@code #root.method}, {@code #root.args},
 * {@code #root.target} and {@code #root.targetClass}, besides the arguments by name ({@code #command}) or
 * position ({@code #p0}, {@code #a0}).
 *
 * @param method the invoked method
 * @param args its arguments
 * @param target the bean
 * @param targetClass the bean's class
 */
public record ExpressionRoot(Method method, Object[] args, @Nullable Object target, Class<?> targetClass) {

    /**
     * The invoked method, for {@code #root.method}.
     *
     * @return the invoked method
     */
    public Method getMethod() {
        return method;
    }

    /**
     * The arguments, for {@code #root.args}.
     *
     * @return the invoked method's arguments, in order
     */
    public Object[] getArgs() {
        return args;
    }

    /**
     * The bean, for {@code #root.target}.
     *
     * @return the bean the method was invoked on, or {@code null} if there is none
     */
    public @Nullable Object getTarget() {
        return target;
    }

    /**
     * The bean's class, for {@code #root.targetClass}.
     *
     * @return the bean's user class
     */
    public Class<?> getTargetClass() {
        return targetClass;
    }
}
