package dev.tandem.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Seconds and loss of each timed training step of one engine, with the order statistics we report. */
final class StepLog {
    final List<Double> seconds = new ArrayList<>();
    final List<Double> losses = new ArrayList<>();

    void add(double s, double loss) {
        seconds.add(s);
        losses.add(loss);
    }

    void addAll(StepLog other) {
        seconds.addAll(other.seconds);
        losses.addAll(other.losses);
    }

    int size() {
        return seconds.size();
    }

    double median() {
        return quantile(0.5);
    }

    /** Linear-interpolated quantile of the step times (q in [0, 1]). */
    double quantile(double q) {
        double[] s = seconds.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (s.length == 0) return Double.NaN;
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    static double median(double[] values) {
        double[] s = Arrays.copyOf(values, values.length);
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
