package dev.tandem.plan;

import java.util.Locale;

/** Human-readable durations: 3 significant digits with a unit that fits (µs, ms, s). */
final class Seconds {
    private Seconds() {}

    static String format(double s) {
        if (s >= 1000) return String.format(Locale.ROOT, "%.0f s", s);
        if (s >= 1) return String.format(Locale.ROOT, "%.3g s", s);
        if (s >= 1e-3) return String.format(Locale.ROOT, "%.3g ms", s * 1e3);
        return String.format(Locale.ROOT, "%.3g µs", s * 1e6);
    }
}
