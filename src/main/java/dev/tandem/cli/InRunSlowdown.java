package dev.tandem.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The slowdown of checkpointing every E steps, measured inside one run that saves every 2×E
 * steps: the E steps from each save on carry everything a save costs (the save call at the end
 * of the saving step, the copy and the background writing during the next steps), the E steps
 * before it carry none of it, and the two blocks are neighbours in time, so the slow drift of a
 * shared machine and the differences between JVMs (JIT decisions, memory layout), which between
 * separate runs exceed the effect, cancel.
 *
 * <p>Positions: the trainer saves after the update of 0-based step i when (i + 1) is a multiple
 * of the interval, inside step i's time, so the block after a save is steps i … i+E−1 and the
 * block before it is steps i−E … i−1. The pairing assumes a save's background work ends within
 * E steps; the rows of {@code bench ckpt --every E} (copy and writing CPU per save) show it does.
 */
final class InRunSlowdown {
    private InRunSlowdown() {}

    /** One save: the summed step times of the E steps from it on and of the E steps before it. */
    record Pair(int saveStep, double afterMs, double beforeMs) {
        double slowdown() {
            return afterMs / beforeMs - 1;
        }
    }

    /** The pairs of a run with per-step times {@code stepMs}, whose first {@code warmup} steps are not used. */
    static List<Pair> pairs(List<Double> stepMs, int warmup, int every) {
        if (every < 1) throw new IllegalArgumentException("interval must be >= 1: " + every);
        List<Pair> out = new ArrayList<>();
        for (int i = 2 * every - 1; i + every <= stepMs.size(); i += 2 * every) {
            if (i - every < warmup) continue;
            out.add(new Pair(i, sum(stepMs, i, i + every), sum(stepMs, i - every, i)));
        }
        return out;
    }

    /** sum(after) / sum(before) − 1 over all pairs. */
    static double pooled(List<Pair> pairs) {
        double after = pairs.stream().mapToDouble(Pair::afterMs).sum();
        double before = pairs.stream().mapToDouble(Pair::beforeMs).sum();
        return after / before - 1;
    }

    private static double sum(List<Double> xs, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += xs.get(i);
        return s;
    }
}
