package dev.tandem.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The optimizer benchmark's table, CSV and plot, from each optimizer's lr sweep. */
final class OptimReport {
    private final Map<String, List<OptimizerRun.Outcome>> runs;
    private final double target;
    private boolean edgeNote;

    /** {@code target} NaN: AdamW's best final loss rounded up to 0.05 (else the worst best). */
    OptimReport(Map<String, List<OptimizerRun.Outcome>> runs, double target) {
        this.runs = runs;
        this.target = Double.isNaN(target) ? autoTarget() : target;
    }

    private double autoTarget() {
        OptimizerRun.Outcome base = runs.containsKey("adamw") ? best("adamw") : null;
        double t = base != null ? base.finalLoss()
                : runs.keySet().stream().mapToDouble(o -> best(o).finalLoss()).filter(Double::isFinite).max().orElse(0);
        return Math.ceil(t * 20) / 20;
    }

    OptimizerRun.Outcome best(String optimizer) {
        return runs.get(optimizer).stream().min(Comparator.comparingDouble(OptimizerRun.Outcome::finalLoss)).orElseThrow();
    }

    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Target validation loss: %.2f nats/token.%n%n", target));
        sb.append("| optimizer | lr sweep → final val loss | best lr | final val loss | tokens to target | time to target | "
                + "train time | state bytes | state vs AdamW | mean σ_max hidden |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        Long adamBytes = runs.containsKey("adamw") ? best("adamw").stateBytes() : null;
        for (String o : runs.keySet()) {
            OptimizerRun.Outcome b = best(o);
            List<String> sweep = new ArrayList<>();
            for (OptimizerRun.Outcome r : runs.get(o)) {
                sweep.add(String.format(Locale.ROOT, "%.0e→%s", r.spec().lr(), r.diverged() ? "diverged" : String.format(Locale.ROOT, "%.3f", r.finalLoss())));
            }
            OptimizerRun.Point hit = b.firstAtOrBelow(target);
            List<OptimizerRun.Outcome> list = runs.get(o);
            boolean edge = list.size() > 1 && (b == list.getFirst() || b == list.getLast());
            if (edge) edgeNote = true;
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.0e%s | %.4f | %s | %s | %.1f s | %,d | %s | %.2f |%n",
                    o, String.join(", ", sweep), b.spec().lr(), edge ? "*" : "", b.finalLoss(),
                    hit == null ? "not reached" : String.format(Locale.ROOT, "%,d", hit.tokens()),
                    hit == null ? "—" : String.format(Locale.ROOT, "%.1f s", hit.seconds()),
                    b.trainSeconds(), b.stateBytes(),
                    adamBytes == null ? "—" : String.format(Locale.ROOT, "%.1f%%", 100.0 * b.stateBytes() / adamBytes),
                    b.hiddenSpectralNorm()));
        }
        if (edgeNote) sb.append("\n\\* best lr at the edge of the sweep: the optimum may lie outside it (try --sweep 5).\n");
        if (runs.containsKey("adamw") && runs.containsKey("adamw8bit")) {
            OptimizerRun.Outcome a = best("adamw"), e = best("adamw8bit");
            double bytes = 100.0 * e.stateBytes() / a.stateBytes();
            double loss = 100.0 * (e.finalLoss() - a.finalLoss()) / a.finalLoss();
            sb.append(String.format(Locale.ROOT, "%nCheck: 8-bit AdamW state is %.1f%% of AdamW's (expected ≤ 30%%: %s); "
                            + "its final val loss is %+.2f%% from AdamW's (expected within 2%%: %s).%n",
                    bytes, bytes <= 30 ? "PASS" : "FAIL", loss, Math.abs(loss) <= 2 ? "PASS" : "FAIL"));
        }
        return sb.toString();
    }

    String csv() {
        StringBuilder sb = new StringBuilder("optimizer,lr,tokens,seconds,val_loss\n");
        runs.forEach((o, list) -> {
            for (OptimizerRun.Outcome r : list) {
                for (OptimizerRun.Point p : r.curve()) {
                    sb.append(String.format(Locale.ROOT, "%s,%g,%d,%.3f,%.5f%n", o, r.spec().lr(), p.tokens(), p.seconds(), p.valLoss()));
                }
            }
        });
        return sb.toString();
    }

    void plot(Path file) throws IOException {
        List<CurvePlot.Series> series = new ArrayList<>();
        for (String o : runs.keySet()) {
            OptimizerRun.Outcome b = best(o);
            double[] x = new double[b.curve().size()], y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = b.curve().get(i).tokens();
                y[i] = b.curve().get(i).valLoss();
            }
            series.add(new CurvePlot.Series(String.format(Locale.ROOT, "%s (lr %.0e)", o, b.spec().lr()), x, y));
        }
        CurvePlot.write(file, "tandem bench optim: validation loss at each optimizer's best lr", "training tokens",
                "validation loss (nats/token)", series);
    }
}
