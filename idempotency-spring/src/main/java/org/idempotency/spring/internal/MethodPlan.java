package org.idempotency.spring.internal;

import java.lang.reflect.Method;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Future;
import org.aopalliance.intercept.MethodInvocation;
import org.idempotency.api.InvalidIdempotencyKeyException;
import org.idempotency.api.TypeRef;
import org.idempotency.core.Execution;
import org.idempotency.core.Idempotency;
import org.idempotency.core.IdempotentOperation;
import org.idempotency.spring.Idempotent;
import org.idempotency.spring.TransactionalCompletion;
import org.jspecify.annotations.Nullable;
import org.springframework.context.expression.MethodBasedEvaluationContext;
import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.ParameterNameDiscoverer;
import org.springframework.core.ResolvableType;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.expression.EvaluationException;
import org.springframework.expression.Expression;
import org.springframework.stereotype.Controller;
import org.springframework.util.ClassUtils;

/**
 * Everything one {@code @Idempotent} method needs per call, prepared once: where its key comes from, what its
 * request hash covers, its operation (engine, namespace and result type), and how its result is stored and
 * replayed. {@link #invoke} runs one call.
 *
 * <p>Thread-safe.
 */
final class MethodPlan {

    private static final ClassLoader LOADER = MethodPlan.class.getClassLoader();
    /** Spring's transaction synchronization is there. */
    static final boolean TRANSACTIONS =
            ClassUtils.isPresent("org.springframework.transaction.support.TransactionSynchronizationManager", LOADER);
    /** Spring Web, the servlet API and the servlet module are there, for controller methods. */
    static final boolean WEB = ClassUtils.isPresent("org.springframework.web.context.request.RequestContextHolder",
            LOADER) && ClassUtils.isPresent("jakarta.servlet.http.HttpServletRequest", LOADER)
            && ClassUtils.isPresent("org.idempotency.servlet.IdempotencyKeyHeader", LOADER);
    private static final ParameterNameDiscoverer PARAMETER_NAMES = new DefaultParameterNameDiscoverer();
    private static final List<String> NOT_HASHED = List.of("jakarta.servlet.ServletRequest",
            "jakarta.servlet.ServletResponse", "jakarta.servlet.http.HttpSession", "java.security.Principal",
            "org.springframework.validation.Errors", "org.springframework.ui.Model",
            "org.springframework.web.context.request.WebRequest", "org.springframework.http.HttpHeaders",
            "org.springframework.web.multipart.MultipartFile", "java.io.InputStream", "java.io.Reader",
            "java.io.OutputStream", "java.io.Writer", "java.util.Locale", "java.util.TimeZone",
            "java.time.ZoneId");
    private static final List<String> ASYNC = List.of("org.reactivestreams.Publisher",
            "java.util.concurrent.Flow$Publisher", "kotlinx.coroutines.flow.Flow");

    /** How a method's result is stored. */
    enum Kind {
        /** The value itself. */
        VALUE,
        /** A {@code ResponseEntity}: status, allow-listed headers and body. */
        ENTITY
    }

    private final Method method;
    private final Class<?> targetClass;
    private final String where;
    private final boolean headerKey;
    private final boolean keyRequired;
    private final boolean web;
    private final @Nullable Expression keyExpression;
    private final @Nullable Expression hashExpression;
    private final boolean[] hashed;
    private final Class<?>[] permanentFailures;
    private final List<String> replayHeaders;
    private final Kind kind;
    private final IdempotentOperation<Object> operation;
    private final MethodPlans.Collaborators with;

    MethodPlan(Method method, Class<?> targetClass, Idempotent annotation, String operationName, Idempotency engine,
            @Nullable Expression keyExpression, @Nullable Expression hashExpression,
            MethodPlans.Collaborators with, String where) {
        this.method = method;
        this.targetClass = targetClass;
        this.where = where;
        this.with = with;
        boolean controller = AnnotatedElementUtils.hasAnnotation(targetClass, Controller.class);
        if (keyExpression == null && !controller) {
            throw new IllegalArgumentException("it has no key: set @Idempotent(key = \"...\"), a SpEL expression"
                    + " over the arguments such as \"#command.id\" (only controller methods take the"
                    + " Idempotency-Key header by default)");
        }
        if (controller && !WEB) {
            throw new IllegalArgumentException("controller methods need spring-web, the servlet API and"
                    + " idempotency-servlet on the class path");
        }
        this.headerKey = keyExpression == null;
        this.keyRequired = annotation.keyRequired();
        this.web = controller;
        this.keyExpression = keyExpression;
        this.hashExpression = hashExpression;
        this.hashed = hashedParameters(method);
        this.permanentFailures = annotation.permanentFailures();
        List<String> headers = new ArrayList<>(List.of("Content-Type", "Location"));
        for (String header : annotation.replayHeaders()) {
            if (header.isBlank()) {
                throw new IllegalArgumentException("replayHeaders must not contain a blank name");
            }
            headers.add(header.trim());
        }
        this.replayHeaders = List.copyOf(headers);
        ResolvableType returnType = ResolvableType.forMethodReturnType(method, targetClass);
        Class<?> raw = returnType.toClass();
        checkNotAsync(raw);
        if (controller && WebSupport.isResponseEntity(raw)) {
            this.kind = Kind.ENTITY;
            Type body = resolved(returnType.getGeneric(0), "the body of " + returnType);
            this.operation = operation(engine, operationName, WebSupport.storedEntityType(body));
        } else {
            this.kind = Kind.VALUE;
            Type stored = raw == void.class || raw == Void.class ? Void.class : resolved(returnType, "its return type");
            this.operation = operation(engine, operationName, stored);
        }
    }

    @SuppressWarnings("unchecked")
    private static IdempotentOperation<Object> operation(Idempotency engine, String name, Type stored) {
        return engine.operation(name, (TypeRef<Object>) TypeRef.of(stored));
    }

    private static void checkNotAsync(Class<?> raw) {
        boolean async = CompletionStage.class.isAssignableFrom(raw) || Future.class.isAssignableFrom(raw);
        for (String name : ASYNC) {
            Class<?> type = ClassUtils.isPresent(name, LOADER) ? ClassUtils.resolveClassName(name, LOADER) : null;
            async |= type != null && type.isAssignableFrom(raw);
        }
        if (async) {
            throw new IllegalArgumentException("it returns " + raw.getName() + ", an asynchronous result: the record"
                    + " would hold the handle, not the result; make the method synchronous");
        }
    }

    /** A concrete type (generic arguments resolved), boxed if primitive; refuses {@code Object} and type variables. */
    private static Type resolved(ResolvableType type, String what) {
        Class<?> raw = type.resolve();
        if (raw == null || raw == Object.class || type.hasUnresolvableGenerics()) {
            throw new IllegalArgumentException(what + " (" + type + ") is not a concrete type; replays decode into"
                    + " the declared type, so declare one (such as Order or List<Order>)");
        }
        if (raw.isPrimitive()) {
            return ClassUtils.resolvePrimitiveIfNecessary(raw);
        }
        if (!type.hasGenerics()) {
            return raw;
        }
        ResolvableType[] generics = type.getGenerics();
        ResolvableType[] arguments = new ResolvableType[generics.length];
        for (int i = 0; i < generics.length; i++) {
            arguments[i] = ResolvableType.forType(resolved(generics[i], what));
        }
        return ResolvableType.forClassWithGenerics(raw, arguments).getType();
    }

    private static boolean[] hashedParameters(Method method) {
        Class<?>[] types = method.getParameterTypes();
        boolean[] hashed = new boolean[types.length];
        for (int i = 0; i < types.length; i++) {
            hashed[i] = true;
            for (String name : NOT_HASHED) {
                if (ClassUtils.isPresent(name, LOADER)
                        && ClassUtils.resolveClassName(name, LOADER).isAssignableFrom(types[i])) {
                    hashed[i] = false;
                }
            }
        }
        return hashed;
    }

    /** The operation this method's records live in. */
    IdempotentOperation<Object> operation() {
        return operation;
    }

    /**
     * Runs one call: the stored result for a key already completed, otherwise the method, with its record
     * finished as its outcome and the current transaction say.
     */
    @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
        Object[] args = invocation.getArguments();
        String key;
        if (headerKey) {
            String client = WebSupport.headerKey(where);
            if (client == null) {
                if (keyRequired) {
                    throw org.idempotency.spring.web.IdempotencyKeyHeaderException.missing();
                }
                return invocation.proceed();
            }
            key = WebSupport.scopedKey(client);
        } else {
            key = key(evaluate(keyExpression, invocation, args));
        }
        String requestHash = requestHash(invocation, args);
        Execution<Object> execution = operation.begin(key, requestHash);
        if (execution.isReplay()) {
            return replay(execution.replayedResult());
        }
        Object result;
        try {
            result = invocation.proceed();
        } catch (Throwable error) {
            failed(execution, error);
            throw error;
        }
        succeeded(execution, result);
        return result;
    }

    private String key(@Nullable Object value) {
        if (value == null) {
            throw new InvalidIdempotencyKeyException("the key expression must not yield null", "'"
                    + keyExpression.getExpressionString() + "' on " + where);
        }
        return value instanceof String text ? text : String.valueOf(value);
    }

    private @Nullable String requestHash(MethodInvocation invocation, Object[] args) {
        Object selected;
        if (hashExpression != null) {
            selected = evaluate(hashExpression, invocation, args);
            if (selected == null) {
                return null;
            }
        } else {
            List<@Nullable Object> values = new ArrayList<>(args.length);
            for (int i = 0; i < args.length; i++) {
                if (hashed[i]) {
                    values.add(args[i]);
                }
            }
            selected = values;
        }
        return with.hasher().hash(selected);
    }

    private @Nullable Object evaluate(Expression expression, MethodInvocation invocation, Object[] args) {
        ExpressionRoot root = new ExpressionRoot(method, args, invocation.getThis(), targetClass);
        MethodBasedEvaluationContext context = new MethodBasedEvaluationContext(root, method, args, PARAMETER_NAMES);
        context.setBeanResolver(with.beans());
        try {
            return expression.getValue(context);
        } catch (EvaluationException e) {
            throw new IllegalArgumentException("@Idempotent on " + where + ": the expression '"
                    + expression.getExpressionString() + "' failed: " + e.getMessage(), e);
        }
    }

    private @Nullable Object replay(@Nullable Object stored) {
        if (kind == Kind.ENTITY) {
            return WebSupport.replayEntity(stored);
        }
        if (web) {
            WebSupport.markReplayed();
        }
        return stored;
    }

    private void succeeded(Execution<Object> execution, @Nullable Object result) {
        Object stored = result;
        int status = 0;
        if (kind == Kind.ENTITY && result != null) {
            status = WebSupport.status(result);
            if (!WebSupport.storedStatus(status)) {
                finish(execution, execution::release);
                return;
            }
            stored = WebSupport.toStoredEntity(result, replayHeaders);
        }
        if (TRANSACTIONS && Transactions.inWritableTransaction() && !execution.isUnprotected()) {
            TransactionalCompletion completion = with.completion().getIfUnique();
            Transactions.completeWithTransaction(execution, stored, status, completion);
            return;
        }
        execution.complete(stored, status);
    }

    private void failed(Execution<Object> execution, Throwable error) {
        finish(execution, () -> {
            if (isPermanent(error)) {
                execution.fail(error);
            } else {
                execution.abandon(error);
            }
        });
    }

    /** Finishes now, or, inside a transaction, once it has ended (so a retry never runs beside its writes). */
    private static void finish(Execution<Object> execution, Runnable finishing) {
        if (TRANSACTIONS && Transactions.inWritableTransaction() && !execution.isUnprotected()) {
            Transactions.afterCompletion(execution, finishing);
            return;
        }
        finishing.run();
    }

    private boolean isPermanent(Throwable error) {
        for (Class<?> type : permanentFailures) {
            if (type.isInstance(error)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "MethodPlan[" + where + " operation=" + operation.name() + " key="
                + (headerKey ? "Idempotency-Key header" : keyExpression.getExpressionString()) + " kind=" + kind
                + " permanentFailures=" + Arrays.toString(permanentFailures) + "]";
    }
}
