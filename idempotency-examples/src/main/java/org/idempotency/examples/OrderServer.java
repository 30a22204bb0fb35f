package org.idempotency.examples;

import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.servlet.security.ConstraintMapping;
import org.eclipse.jetty.ee10.servlet.security.ConstraintSecurityHandler;
import org.eclipse.jetty.security.Constraint;
import org.eclipse.jetty.security.HashLoginService;
import org.eclipse.jetty.security.UserStore;
import org.eclipse.jetty.security.authentication.BasicAuthenticator;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.security.Credential;
import org.idempotency.servlet.IdempotencyFilter;

/**
 * The demo's HTTP server: an embedded Jetty 12 on the loopback interface, HTTP Basic authentication for the
 * demo's customers, then the {@link IdempotencyFilter} and the {@link OrdersServlet}.
 */
final class OrderServer implements AutoCloseable {

    /** The demo's customers and their passwords (HTTP Basic, loopback only). */
    static final Map<String, String> CUSTOMERS = Map.of("alice", "wonderland", "bob", "builder");

    private final Server server;
    private final URI base;

    private OrderServer(Server server, URI base) {
        this.server = server;
        this.base = base;
    }

    /** Starts the server on {@code 127.0.0.1:port} (0 for a free port). */
    static OrderServer start(int port, IdempotencyFilter filter, OrderService orders) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        server.addConnector(connector);

        ServletContextHandler context = new ServletContextHandler(ServletContextHandler.SECURITY);
        context.setContextPath("/");
        context.setSecurityHandler(authentication());
        context.addFilter(new FilterHolder(filter), "/*", EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(new ServletHolder(new OrdersServlet(orders)), "/orders/*");
        server.setHandler(context);
        server.start();
        return new OrderServer(server, URI.create("http://127.0.0.1:" + connector.getLocalPort()));
    }

    URI base() {
        return base;
    }

    /** Blocks until the server stops. */
    void join() throws InterruptedException {
        server.join();
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("the order server did not stop", e);
        }
    }

    private static ConstraintSecurityHandler authentication() {
        UserStore users = new UserStore();
        CUSTOMERS.forEach((name, password) ->
                users.addUser(name, Credential.getCredential(password), new String[] {"customer"}));
        HashLoginService login = new HashLoginService("orders");
        login.setUserStore(users);

        ConstraintMapping everything = new ConstraintMapping();
        everything.setPathSpec("/*");
        everything.setConstraint(Constraint.from("customer"));

        ConstraintSecurityHandler security = new ConstraintSecurityHandler();
        security.setLoginService(login);
        security.setAuthenticator(new BasicAuthenticator());
        security.addConstraintMapping(everything);
        return security;
    }
}
