package org.idempotency.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The core guide's pattern for long work that checks its lease runs as shown, and the guide shows it verbatim. */
class LeaseSnippetTest {

    /** What the snippet builds. */
    public static final class Report {
        private final List<Integer> parts = new ArrayList<>();

        public List<Integer> getParts() {
            return parts;
        }

        void add(int part) {
            parts.add(part);
        }
    }

    record Chunk(int size) {
    }

    private final Idempotency idempotency = Idempotency.builder(InMemoryIdempotencyStore.create()).build();
    private final IdempotentOperation<Report> reports = idempotency.operation("reports", Report.class);
    private final AtomicBoolean cancelled = new AtomicBoolean();

    @AfterEach
    void close() {
        idempotency.close();
    }

    @Test
    @DisplayName("the guide's lease-checking loop processes every chunk once and replays the report")
    void snippet() throws IOException {
        List<Chunk> chunks = List.of(new Chunk(1), new Chunk(2), new Chunk(3));

        assertThat(run("report-1", "h", chunks).getParts()).containsExactly(1, 2, 3);
        assertThat(run("report-1", "h", List.of()).getParts()).as("replayed").containsExactly(1, 2, 3);
        assertThat(cancelled).isFalse();
        assertThat(Files.readString(Path.of("..", "docs", "core.md")))
                .contains(ReadmeQuickStartTest.snippet("lease", "LeaseSnippetTest.java"));
    }

    private Report run(String key, String requestHash, List<Chunk> chunks) {
        // tag::lease[]
        try (Execution<Report> execution = reports.begin(key, requestHash)) {
            if (execution.isReplay()) {
                return execution.replayedResult();
            }
            execution.onLeaseLost(() -> cancelled.set(true)); // runs once, on an engine thread
            Report report = new Report();
            for (Chunk chunk : chunks) {
                execution.checkLease(); // throws IdempotencyLeaseLostException if another caller may own the key
                report.add(process(chunk));
            }
            execution.complete(report); // still fenced: stores nothing if another caller took over
            return report;
        }
        // end::lease[]
    }

    private static int process(Chunk chunk) {
        return chunk.size();
    }
}
