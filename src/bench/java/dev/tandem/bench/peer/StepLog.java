package dev.tandem.bench.peer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The training steps of one engine: total seconds, phases and loss, with the order statistics we report. */
final class StepLog {
    final List<Double> seconds = new ArrayList<>();
    final List<Double> losses = new ArrayList<>();
    final List<StepTiming> steps = new ArrayList<>();

    void add(StepTiming t) {
        seconds.add(t.total());
        losses.add(t.loss());
        steps.add(t);
    }

    void addAll(StepLog other) {
        seconds.addAll(other.seconds);
        losses.addAll(other.losses);
        steps.addAll(other.steps);
    }

    /** Median seconds of forward, backward and optimizer over the steps, in that order. */
    double[] medianPhases() {
        return new double[] {
            median(steps.stream().mapToDouble(StepTiming::forward).toArray()),
            median(steps.stream().mapToDouble(StepTiming::backward).toArray()),
            median(steps.stream().mapToDouble(StepTiming::optimizer).toArray())};
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
        if (values.length == 0) return Double.NaN;
        double[] s = Arrays.copyOf(values, values.length);
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
