package org.idempotency.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Makes a method of a Spring bean idempotent: the first call with a key runs the method and stores its
 * result; a repeat with the same key and the same arguments returns the stored result without running it; a
 * repeat with different arguments is refused ({@link org.idempotency.api.IdempotencyKeyReusedException}); a
 * repeat while the first still runs is told so ({@link org.idempotency.api.IdempotencyInProgressException}),
 * or waits if {@link #waitForInProgress} says so.
 *
 * <pre>{@code
 * @Idempotent(key = "#command.orderId")
 * public Receipt charge(ChargeCommand command) { ... }
 * }</pre>
 *
 * <p>On a {@code @Controller} method without a {@link #key}, the key is the request's {@code Idempotency-Key}
 * header, parsed as the servlet filter parses it, and scoped by the authenticated principal so that one client
 * never receives another's result; a request without the header is answered {@code 400} (unless
 * {@link #keyRequired} is false). A {@code ResponseEntity} result is replayed with its status, body and
 * allow-listed headers.
 *
 * <p>The method runs through a plain Spring AOP proxy (no AspectJ weaving). Methods a proxy cannot intercept
 * ({@code private}, {@code static}, {@code final} under a class proxy, not on the proxied interface) and calls
 * from the bean to itself are reported when the context starts. Inside a Spring-managed transaction the record
 * is completed when the transaction commits (and released if it rolls back); with the SQL store on the
 * transaction's {@code DataSource} it is completed inside the transaction, so the method's database writes and
 * the completion commit together.
 *
 * <p>Expressions are SpEL over the method's arguments: {@code #name} (compile with {@code -parameters}),
 * {@code #p0}/{@code #a0}, {@code #root.args}, {@code #root.method}, and {@code @bean} references.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface Idempotent {

    /**
     * A SpEL expression for the idempotency key, such as {@code "#command.orderId"}: any value, turned into text
     * ({@code String.valueOf}); {@code null} is refused. Empty (the default) on a controller method: the
     * {@code Idempotency-Key} request header. Required elsewhere.
     *
     * @return the key expression
     */
    String key() default "";

    /**
     * A SpEL expression selecting what the request hash covers, such as {@code "#command"} or
     * {@code "{#command.items, #command.amount}"}: its value is written as JSON, canonicalised and hashed
     * (SHA-256). Empty (the default): all arguments, in order. An expression that yields {@code null}
     * ({@code "null"}) skips the check that a key is not reused with other arguments.
     *
     * @return the hash expression
     */
    String hash() default "";

    /**
     * The operation name, which namespaces the keys: 1 to 64 characters of {@code A-Z a-z 0-9 . _ -}. Default:
     * the bean class's simple name and the method name ({@code OrderService.create}), stable across restarts
     * and instances; two overloads with the same name must set it.
     *
     * @return the operation name
     */
    String operation() default "";

    /**
     * The lease of this method's executions ({@code "30s"}, {@code "PT30S"}, or a {@code ${...}} placeholder);
     * empty: the engine's.
     *
     * @return the lease
     */
    String lease() default "";

    /**
     * How long this method's results are kept and replayed ({@code "24h"}, {@code "P1D"}, or a placeholder);
     * empty: the engine's.
     *
     * @return the retention
     */
    String retention() default "";

    /**
     * How long a duplicate waits for a running call to finish before it is refused ({@code "5s"}, or a
     * placeholder); empty: the engine's (by default none: refused at once).
     *
     * @return the wait
     */
    String waitForInProgress() default "";

    /**
     * Exceptions (and their subclasses) that are permanent failures of this method: they are recorded and
     * replayed to later calls with the key as {@link org.idempotency.api.IdempotencyReplayedFailureException}.
     * Any other exception releases the key, so a retry runs the method again, unless the engine's own
     * {@code permanentFailure} predicate says otherwise.
     *
     * @return the permanent failure types
     */
    Class<? extends Throwable>[] permanentFailures() default {};

    /**
     * Controller methods only: whether a request without an {@code Idempotency-Key} header is refused with
     * {@code 400} (the default), or runs without protection.
     *
     * @return whether the header is required
     */
    boolean keyRequired() default true;

    /**
     * Controller methods returning {@code ResponseEntity} only: response headers stored and replayed besides
     * {@code Content-Type} and {@code Location}.
     *
     * @return the header names
     */
    String[] replayHeaders() default {};
}
