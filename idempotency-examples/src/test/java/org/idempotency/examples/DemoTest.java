package org.idempotency.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DemoTest {

    @Test
    void transcriptShowsEachOutcome() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        new Demo(new PrintStream(buffer, true, StandardCharsets.UTF_8)).run();
        String transcript = buffer.toString(StandardCharsets.UTF_8);

        assertThat(transcript)
                .contains("ran the work, created Order[id=ord-1, product=book, quantity=1] (orders created: 1)")
                .contains("replayed Order[id=ord-1, product=book, quantity=1] without running the work (orders created: 1)")
                .contains("refused with HTTP 422")
                .contains("told to retry later, HTTP 409")
                .contains("the first call finished with Order[id=ord-2, product=book, quantity=1] (orders created: 2)");
    }
}
