package dev.tandem.bench.peer;

import java.io.PrintStream;
import java.util.List;

/**
 * What {@code bench train} measured for one case: warm-up and timed steps of each engine (the
 * peer's null when it was not run), the peer's threading and the threads it really used, the
 * Tandem/PyTorch speed ratio of each round, and the load.
 */
record TrainBenchResult(TrainBenchCase c, StepLog tandemWarm, StepLog tandem, StepLog peerWarm, StepLog peer,
                        String peerSetup, List<Double> roundRatios, String load) {

    double tandemTokPerSec() {
        return c.tokensPerStep() / tandem.median();
    }

    double peerTokPerSec() {
        return peer == null ? Double.NaN : c.tokensPerStep() / peer.median();
    }

    /** Tandem tokens/s ÷ PyTorch tokens/s, both from the median step over all rounds. */
    double ratio() {
        return tandemTokPerSec() / peerTokPerSec();
    }

    void printDetails(PrintStream out) {
        out.printf("   Tandem : %s%n", timing(tandem));
        if (peer != null) {
            out.printf("   PyTorch: %s%n            threading %s%n", timing(peer), peerSetup);
            double[] r = roundRatios.stream().mapToDouble(Double::doubleValue).toArray();
            out.printf("   ratio Tandem/PyTorch tok/s: %.2f from median steps, %.2f from best steps;"
                            + " per round %s, median %.2f%n", ratio(), peer.quantile(0) / tandem.quantile(0),
                    formatList(r), StepLog.median(r));
            printLossCheck(out);
        }
        out.printf("   load average (1/5/15 min) %s%n", load);
    }

    private String timing(StepLog s) {
        double[] ph = s.medianPhases();
        return String.format("median %.0f ms/step (p10–p90 %.0f–%.0f, min–max %.0f–%.0f, %d steps), %,.0f tok/s;"
                        + " forward/backward/AdamW %.0f/%.0f/%.0f ms",
                1e3 * s.median(), 1e3 * s.quantile(0.1), 1e3 * s.quantile(0.9), 1e3 * s.quantile(0),
                1e3 * s.quantile(1), s.size(), c.tokensPerStep() / s.median(), 1e3 * ph[0], 1e3 * ph[1], 1e3 * ph[2]);
    }

    /**
     * Same weights, batch and optimizer: the losses must agree step by step (up to float32
     * reordering). The first one is ≈ ln(vocab) since the targets are random tokens.
     */
    private void printLossCheck(PrintStream out) {
        StepLog t = new StepLog(), p = new StepLog();
        t.addAll(tandemWarm);
        t.addAll(tandem);
        p.addAll(peerWarm);
        p.addAll(peer);
        int n = Math.min(t.size(), p.size());
        double maxDiff = 0;
        for (int i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(t.losses.get(i) - p.losses.get(i)));
        out.printf("   same work: loss at step 1 Tandem %.5f, PyTorch %.5f (ln V = %.5f); at step %d %.5f vs %.5f;"
                        + " max |Δloss| over %d steps %.2e%n",
                t.losses.getFirst(), p.losses.getFirst(), Math.log(c.model().vocabSize()), n,
                t.losses.get(n - 1), p.losses.get(n - 1), n, maxDiff);
    }

    private static String formatList(double[] r) {
        StringBuilder b = new StringBuilder();
        for (double x : r) b.append(b.isEmpty() ? "" : " ").append(String.format("%.2f", x));
        return "[" + b + "]";
    }

    static void printTable(PrintStream out, List<TrainBenchResult> results, double peak) {
        out.println();
        out.printf("%-42s | %12s | %10s | %13s | %11s | %6s%n", "model", "Tandem tok/s", "Tandem MFU",
                "PyTorch tok/s", "PyTorch MFU", "ratio");
        out.println("-".repeat(42) + "-|-" + "-".repeat(12) + "-|-" + "-".repeat(10) + "-|-" + "-".repeat(13)
                + "-|-" + "-".repeat(11) + "-|-" + "-".repeat(6));
        for (TrainBenchResult r : results) {
            double f = r.c.model().trainingFlopsPerToken(r.c.seqLen()) / peak;
            String label = String.format("L%d H%d C%d T%d B%d V%d", r.c.model().nLayer(), r.c.model().nHead(),
                    r.c.model().nEmbd(), r.c.seqLen(), r.c.batch(), r.c.model().vocabSize());
            if (r.peer == null) {
                out.printf("%-42s | %12.0f | %9.1f%% | %13s | %11s | %6s%n", r.c.name() + " " + label,
                        r.tandemTokPerSec(), 100 * r.tandemTokPerSec() * f, "-", "-", "-");
            } else {
                out.printf("%-42s | %12.0f | %9.1f%% | %13.0f | %10.1f%% | %5.2fx%n", r.c.name() + " " + label,
                        r.tandemTokPerSec(), 100 * r.tandemTokPerSec() * f, r.peerTokPerSec(),
                        100 * r.peerTokPerSec() * f, r.ratio());
            }
        }
        out.println("ratio = Tandem tok/s ÷ PyTorch tok/s (> 1: Tandem faster); tok/s from the median step.");
    }
}
