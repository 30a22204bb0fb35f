package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.idempotency.api.spi.IdempotencyStore;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The README's quick start is this code: it compiles and runs here, and the README must show it verbatim. */
class ReadmeQuickStartTest {

    record Receipt(String id, long amountCents) {
    }

    static final class Payments {
        final AtomicInteger charges = new AtomicInteger();

        Receipt charge(long amountCents) {
            return new Receipt("rcpt-" + charges.incrementAndGet(), amountCents);
        }
    }

    @Test
    @DisplayName("the quick start charges once and replays the receipt")
    void quickStart() throws IOException {
        Payments payments = new Payments();
        String idempotencyKey = "3f1c9a2e-charge";
        byte[] requestBody = "{\"amountCents\": 1999}".getBytes(StandardCharsets.UTF_8);
        long amount = 1999;
        Receipt receipt;
        Receipt again;

        // tag::quickstart[]
        IdempotencyStore store = InMemoryIdempotencyStore.create(); // or Redis, PostgreSQL, your own
        try (Idempotency idempotency = Idempotency.builder(store).resultTypes(Receipt.class).build()) {
            String requestHash = JsonFingerprint.defaults().hash(requestBody);

            receipt = idempotency.execute(idempotencyKey, requestHash, () -> payments.charge(amount));
            again = idempotency.execute(idempotencyKey, requestHash, () -> payments.charge(amount));
            // again equals receipt, and the card was charged once
        }
        // end::quickstart[]

        assertThat(again).isEqualTo(receipt);
        assertThat(payments.charges).hasValue(1);
        assertThat(readme()).contains(snippet("quickstart"));
    }

    @Test
    @DisplayName("the quick start's typed operation charges once and replays the receipt")
    void typedOperation() throws IOException {
        Payments payments = new Payments();
        String idempotencyKey = "3f1c9a2e-charge";
        String requestHash = JsonFingerprint.defaults().hash("{\"amountCents\": 1999}");
        long amount = 1999;
        Receipt receipt;
        Receipt again;

        try (Idempotency idempotency = Idempotency.builder(InMemoryIdempotencyStore.create()).build()) {
            // tag::operation[]
            IdempotentOperation<Receipt> charge = idempotency.operation("charge", Receipt.class);
            receipt = charge.execute(idempotencyKey, requestHash, () -> payments.charge(amount));
            again = charge.execute(idempotencyKey, requestHash, () -> payments.charge(amount));
            // end::operation[]
        }

        assertThat(again).isEqualTo(receipt);
        assertThat(payments.charges).hasValue(1);
        assertThat(readme()).contains(snippet("operation"));
    }

    static String readme() throws IOException {
        return Files.readString(Path.of("..", "README.md"));
    }

    /** The tagged region of this file, with the indentation of its first line removed from every line. */
    static String snippet(String tag) throws IOException {
        return snippet(tag, "ReadmeQuickStartTest.java");
    }

    /** The tagged region of a test file of this package, with the indentation of its first line removed. */
    static String snippet(String tag, String file) throws IOException {
        String source = Files.readString(Path.of("src/test/java/org/idempotency/core", file));
        String region = source.substring(source.indexOf("// tag::" + tag + "[]\n") + ("// tag::" + tag + "[]\n").length(),
                source.indexOf("// end::" + tag + "[]"));
        String[] lines = region.split("\n");
        int indent = lines[0].length() - lines[0].stripLeading().length();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.length() >= indent ? line.substring(indent) : line.strip()).append('\n');
        }
        return out.toString().stripTrailing();
    }
}
