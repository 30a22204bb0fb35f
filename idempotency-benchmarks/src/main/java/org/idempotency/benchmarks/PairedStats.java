package org.idempotency.benchmarks;

import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** The summary line of a paired run: mean with its 99.9 % confidence half-width (Student's t), and median. */
final class PairedStats {

    private PairedStats() {
    }

    /** A value over the measured rounds: its mean, the mean's 99.9 % confidence half-width, and its median. */
    record Summary(double mean, double halfWidth, double median) {
    }

    /** Summarises a value taken from each measured round. */
    static Summary of(List<double[]> rounds, ToDoubleFunction<double[]> value) {
        double[] values = rounds.stream().mapToDouble(value).sorted().toArray();
        double mean = Arrays.stream(values).average().orElse(Double.NaN);
        double variance = Arrays.stream(values).map(v -> (v - mean) * (v - mean)).sum() / (values.length - 1);
        double halfWidth = studentT999(values.length - 1) * Math.sqrt(variance / values.length);
        double median = values.length % 2 == 1 ? values[values.length / 2]
                : (values[values.length / 2 - 1] + values[values.length / 2]) / 2;
        return new Summary(mean, halfWidth, median);
    }

    /** Prints one line for a value taken from each measured round. */
    static void report(String name, List<double[]> rounds, ToDoubleFunction<double[]> value) {
        Summary summary = of(rounds, value);
        System.out.printf("  %-55s %10.3f ± %8.3f   median %10.3f%n", name, summary.mean(), summary.halfWidth(),
                summary.median());
    }

    /** The two-sided 99.9 % quantile of Student's t (rounded down to a tabulated degree of freedom). */
    static double studentT999(int degrees) {
        int[] df = {5, 10, 15, 20, 25, 30, 40, 60, 120};
        double[] t = {6.869, 4.587, 4.073, 3.850, 3.725, 3.646, 3.551, 3.460, 3.373};
        double quantile = 8.610; // 4 degrees of freedom and fewer: the value for 4
        for (int i = 0; i < df.length; i++) {
            if (degrees >= df[i]) {
                quantile = t[i];
            }
        }
        return degrees > 120 ? 3.291 : quantile;
    }
}
