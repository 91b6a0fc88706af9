package dev.tandem.train;

import java.io.PrintStream;

/**
 * Step output. In a terminal: the step log lines scroll above a live progress bar with ETA.
 * Elsewhere (a file, CI, a rank started by the launcher): plain lines only, every {@code logEvery}
 * steps, each with the time left.
 */
final class Progress {
    private final PrintStream out;
    private final boolean tty;
    private final long total;
    private final int logEvery;
    private final long startNanos = System.nanoTime();
    private long firstDone = -1; // steps done before this invocation's first
    private boolean barShown;

    Progress(PrintStream out, boolean tty, long totalSteps, int logEvery) {
        this.out = out;
        this.tty = tty;
        this.total = totalSteps;
        this.logEvery = logEvery;
    }

    void step(StepMetrics m) {
        long done = m.step();
        if (firstDone < 0) firstDone = done - 1;
        if (done % logEvery == 0 || done == total || done == firstDone + 1) println(m.line(total) + " | ETA " + Durations.clock(eta(done)));
        if (tty) bar(done);
    }

    /** Seconds left, from this invocation's pace (a resumed run started at {@code firstDone}). */
    private double eta(long done) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long run = done - firstDone;
        return run <= 0 ? 0 : elapsed / run * (total - done);
    }

    void println(String line) {
        if (tty && barShown) out.print("\r\033[2K");
        out.println(line);
        barShown = false;
    }

    private void bar(long done) {
        int width = 30;
        int filled = (int) (width * done / total);
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        out.print("\r\033[2K[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + done + "/" + total
                + "  elapsed " + Durations.clock(elapsed) + "  ETA " + Durations.clock(eta(done)));
        out.flush();
        barShown = true;
    }

    void finish() {
        if (tty && barShown) out.println();
        barShown = false;
    }
}
