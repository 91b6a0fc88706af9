package dev.tandem.bench.peer;

import java.util.Arrays;

/** Median and spread of repeated measurements (a single run on a shared machine tells little). */
public record Stats(double median, double min, double max) {
    public static Stats of(double[] samples) {
        double[] s = samples.clone();
        Arrays.sort(s);
        int n = s.length;
        double median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        return new Stats(median, s[0], s[n - 1]);
    }
}
