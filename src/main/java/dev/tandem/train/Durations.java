package dev.tandem.train;

/** Durations as progress lines show them. */
public final class Durations {
    private Durations() {}

    /** {@code 3m07s}, or {@code 1h02m03s} from an hour on. */
    public static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
                : String.format("%dm%02ds", s / 60, s % 60);
    }
}
