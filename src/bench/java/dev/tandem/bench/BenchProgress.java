package dev.tandem.bench;

import dev.tandem.train.Durations;
import java.io.PrintStream;

/**
 * Where a benchmark is, on stderr (the tables go to stdout): before each of its {@code total}
 * parts, "[k/total] what", with the time left at the pace of the parts done so far. Parts of one
 * benchmark differ in length, so the estimate is rough; it says roughly how long to wait.
 */
public final class BenchProgress {
    private final String bench;
    private final int total;
    private final PrintStream err;
    private final long start = System.nanoTime();
    private int done;

    public BenchProgress(String bench, int total, PrintStream err) {
        this.bench = bench;
        this.total = total;
        this.err = err;
    }

    /** Says that the next part, {@code what}, begins (and counts the one before as done). */
    public void next(String what) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        String eta = done == 0 ? "" : ", about " + Durations.clock(elapsed / done * (total - done)) + " left";
        err.printf("tandem bench %s: [%d/%d] %s%s%n", bench, done + 1, total, what, eta);
        err.flush();
        done++;
    }
}
