package org.idempotency.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The README's main command, run as its main entry. */
class DemoTest {

    @Test
    @DisplayName("main plays the script against the running server and every outcome is the expected one")
    void mainPlaysTheScript() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream original = System.out;
        // the transcript also goes to the test's output, which keeps it if an unexpected outcome exits the JVM
        System.setOut(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                buffer.write(b);
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                buffer.write(b, off, len);
                original.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8));
        try {
            Demo.main(new String[0]); // returns only when every outcome was as expected (else it exits 1)
        } finally {
            System.setOut(original);
        }
        String transcript = buffer.toString(StandardCharsets.UTF_8);

        assertThat(transcript)
                .contains("(store: memory")
                .contains("9 requests, 4 orders placed: every outcome as expected.")
                .doesNotContain("UNEXPECTED")
                .as("the in-memory store leaves nothing behind").doesNotContain("Left in");
        assertThat(steps(transcript)).hasSize(8);
        assertThat(step(transcript, 1)).contains("< 201 Created, Location: /orders/ord-1").contains("ok: order ord-1 placed");
        assertThat(step(transcript, 2)).contains("< 201 Created, Location: /orders/ord-1, Idempotent-Replayed: true")
                .contains("no second order (orders placed: 1)");
        assertThat(step(transcript, 3)).contains("< 422 Unprocessable Content").contains("idempotency-key-reused");
        assertThat(step(transcript, 4)).containsPattern("< 409 Conflict, Retry-After: \\d+")
                .contains("request-in-progress").contains("< 201 Created, Location: /orders/ord-2")
                .contains("ok: order ord-2 placed once (orders placed: 2)");
        assertThat(step(transcript, 5)).contains("< 201 Created, Location: /orders/ord-2, Idempotent-Replayed: true");
        assertThat(step(transcript, 6)).contains("as bob").contains("\"customer\":\"bob\"")
                .contains("Bob gets his own order ord-3");
        assertThat(step(transcript, 7)).contains("no Idempotency-Key").contains("ok: order ord-4 placed");
        assertThat(step(transcript, 8)).contains("Location: /orders/ord-4, Idempotent-Replayed: true")
                .contains("same order, none added (orders placed: 4)");
    }

    @ParameterizedTest(name = "--store={0}")
    @ValueSource(strings = {"redis", "postgres"})
    @DisplayName("the same script passes on the shared stores (the local Redis and PostgreSQL)")
    void sharedStores(String store) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int code = Demo.run(new String[] {"--store=" + store}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        String transcript = out.toString(StandardCharsets.UTF_8);
        assertThat(code).as("exit code; errors: %s%ntranscript:%n%s", err, transcript).isZero();
        assertThat(transcript).contains("(store: " + store)
                .contains("9 requests, 4 orders placed: every outcome as expected.")
                .doesNotContain("UNEXPECTED");
        assertThat(steps(transcript)).hasSize(8);
        assertThat(transcript).as("what the run leaves in the store").containsPattern(store.equals("redis")
                ? "Left in Redis: .* under the key prefix 'idempotency-demo:'; Redis deletes each one 1 h after"
                : "Left in PostgreSQL: .* in the table 'idempotency_demo' \\(created if missing, and kept\\)");
    }

    @Test
    @DisplayName("an unknown store is a usage error, never a silent fallback")
    void unknownStore() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int unknown = Demo.run(new String[] {"--store=mongo"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(unknown).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("Unknown store 'mongo'; --store takes one of memory, redis, postgres");
        assertThat(out.toString(StandardCharsets.UTF_8)).as("no server started").isEmpty();
    }

    private static String[] steps(String transcript) {
        return Pattern.compile("\\n(?=\\d+\\. )").split(transcript.substring(transcript.indexOf("\n1. ") + 1));
    }

    private static String step(String transcript, int number) {
        for (String step : steps(transcript)) {
            if (step.startsWith(number + ". ")) {
                return step;
            }
        }
        throw new AssertionError("no step " + number + " in:\n" + transcript);
    }
}
