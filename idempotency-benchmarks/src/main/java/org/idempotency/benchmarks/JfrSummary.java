package org.idempotency.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarises the CPU samples of a Java Flight Recording, such as the one JMH's {@code -prof jfr} writes: the
 * methods most often on top of the stack (self time), and the methods most often anywhere on it (total time),
 * each as a share of the samples of the benchmark's threads.
 *
 * <pre>
 * java -cp benchmarks.jar org.idempotency.benchmarks.JfrSummary profile.jfr [rows] [thread-name-part]
 * </pre>
 *
 * The thread filter defaults to {@code jmh-worker}, the threads that run the benchmark.
 */
public final class JfrSummary {

    private JfrSummary() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: JfrSummary <recording.jfr> [rows] [thread-name-part]");
        }
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 25;
        String thread = args.length > 2 ? args[2] : "jmh-worker";
        Map<String, Integer> self = new HashMap<>();
        Map<String, Integer> total = new HashMap<>();
        int samples = 0;
        for (RecordedEvent event : RecordingFile.readAllEvents(Path.of(args[0]))) {
            if (!event.getEventType().getName().equals("jdk.ExecutionSample")) {
                continue;
            }
            String threadName = event.getThread("sampledThread") == null ? ""
                    : String.valueOf(event.getThread("sampledThread").getJavaName());
            RecordedStackTrace stack = event.getStackTrace();
            if (!threadName.contains(thread) || stack == null || stack.getFrames().isEmpty()) {
                continue;
            }
            samples++;
            List<RecordedFrame> frames = stack.getFrames();
            self.merge(name(frames.get(0)), 1, Integer::sum);
            Set<String> seen = new HashSet<>();
            for (RecordedFrame frame : frames) {
                String name = name(frame);
                if (seen.add(name)) {
                    total.merge(name, 1, Integer::sum);
                }
            }
        }
        System.out.printf(Locale.ROOT, "%d samples of threads named *%s*%n", samples, thread);
        print("self", self, samples, rows);
        print("total", total, samples, rows);
    }

    private static String name(RecordedFrame frame) {
        return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
    }

    private static void print(String title, Map<String, Integer> counts, int samples, int rows) {
        System.out.printf(Locale.ROOT, "%n| %s %% | method |%n|---|---|%n", title);
        counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .limit(rows)
                .forEach(e -> System.out.printf(Locale.ROOT, "| %.1f | `%s` |%n",
                        100.0 * e.getValue() / Math.max(1, samples), e.getKey()));
    }
}
