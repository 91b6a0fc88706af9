package dev.tandem.train;

import java.io.PrintStream;

/**
 * Step output. In a terminal: the step log lines scroll above a live progress bar with ETA.
 * Elsewhere (a file, CI): plain lines only, every {@code logEvery} steps.
 */
final class Progress {
    private final PrintStream out;
    private final boolean tty;
    private final long total;
    private final int logEvery;
    private final long startNanos = System.nanoTime();
    private boolean barShown;

    Progress(PrintStream out, boolean tty, long totalSteps, int logEvery) {
        this.out = out;
        this.tty = tty;
        this.total = totalSteps;
        this.logEvery = logEvery;
    }

    void step(StepMetrics m) {
        long done = m.step() + 1;
        if (done % logEvery == 0 || done == total || done == 1) println(m.line(total));
        if (tty) bar(done);
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
        double eta = done == 0 ? 0 : elapsed / done * (total - done);
        out.print("\r\033[2K[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + done + "/" + total
                + "  elapsed " + clock(elapsed) + "  ETA " + clock(eta));
        out.flush();
        barShown = true;
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
                : String.format("%dm%02ds", s / 60, s % 60);
    }

    void finish() {
        if (tty && barShown) out.println();
        barShown = false;
    }
}
