package dev.tandem.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The slowdown of checkpointing every E steps, measured inside one run: after the warm-up the run
 * is cut into cycles of 2×E steps, and each cycle saves once, at the start of either its first or
 * its second half. The E steps from the save on (the save block) carry everything a save costs:
 * the save call at the end of the saving step, the copy and the background writing during the
 * next steps. The other half (the clean block) carries none of it. The two blocks are neighbours
 * in time, so the slow drift of a shared machine and the differences between JVMs (JIT decisions,
 * memory layout), which between separate runs exceed the effect, cancel.
 *
 * <p>Which half saves follows the pattern first, second, second, first over consecutive cycles.
 * With the save always in the same half, runs without any checkpoint showed the "save" half 1–2 %
 * faster than the other: a bias tied to the position in the run, as large as the effect. With the
 * pattern, each position is a save block as often as a clean one, and a linear drift over four
 * cycles cancels too.
 *
 * <p>Positions: the trainer saves after the update of 0-based step i when {@code ckpt_steps}
 * lists i + 1, inside step i's time, so a save block is steps i … i+E−1. Cycles end before the
 * run's last step, where the trainer saves anyway. The pairing assumes a save's background work
 * ends within E steps; the rows of {@code bench ckpt --every E} (copy and writing CPU per save)
 * show it does.
 */
final class InRunSlowdown {
    private InRunSlowdown() {}

    /** One cycle: the summed step times of its save block and of its clean block. */
    record Pair(int saveStep, double saveBlockMs, double cleanBlockMs) {
        double slowdown() {
            return saveBlockMs / cleanBlockMs - 1;
        }
    }

    /** The 0-based steps that save in a run of {@code steps} steps whose first {@code warmup} steps are not used. */
    static List<Integer> saveSteps(int steps, int warmup, int every) {
        if (every < 1) throw new IllegalArgumentException("interval must be >= 1: " + every);
        List<Integer> out = new ArrayList<>();
        for (int cycle = 0, start = warmup; start + 2 * every <= steps - 1; cycle++, start += 2 * every) {
            boolean firstHalf = cycle % 4 == 0 || cycle % 4 == 3;
            out.add(firstHalf ? start : start + every);
        }
        return out;
    }

    /** {@link #saveSteps} as the trainer's {@code ckpt_steps} value: optimizer steps done, comma-separated. */
    static String ckptSteps(int steps, int warmup, int every) {
        return String.join(",", saveSteps(steps, warmup, every).stream().map(i -> Integer.toString(i + 1)).toList());
    }

    /** The pairs of a run with per-step times {@code stepMs} that saved at {@link #saveSteps}. */
    static List<Pair> pairs(List<Double> stepMs, int warmup, int every) {
        List<Pair> out = new ArrayList<>();
        for (int save : saveSteps(stepMs.size(), warmup, every)) {
            boolean firstHalf = (save - warmup) % (2 * every) == 0;
            int clean = firstHalf ? save + every : save - every;
            out.add(new Pair(save, sum(stepMs, save, save + every), sum(stepMs, clean, clean + every)));
        }
        return out;
    }

    /** sum(save blocks) / sum(clean blocks) − 1 over all pairs. */
    static double pooled(List<Pair> pairs) {
        double save = pairs.stream().mapToDouble(Pair::saveBlockMs).sum();
        double clean = pairs.stream().mapToDouble(Pair::cleanBlockMs).sum();
        return save / clean - 1;
    }

    /**
     * A 95 % interval for {@link #pooled}: the 2.5th and 97.5th percentiles of the pooled slowdown
     * over 10,000 resamples of the pairs with replacement (the bootstrap). Single pairs scatter by
     * ±15 % on a shared machine, so the pooled value alone does not say whether it is below a goal.
     * The seed is fixed: the same pairs give the same interval.
     */
    static double[] interval(List<Pair> pairs) {
        if (pairs.isEmpty()) return new double[] {Double.NaN, Double.NaN};
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(20261126);
        double[] estimates = new double[10_000];
        for (int b = 0; b < estimates.length; b++) {
            double save = 0, clean = 0;
            for (int i = 0; i < pairs.size(); i++) {
                Pair p = pairs.get(rnd.nextInt(pairs.size()));
                save += p.saveBlockMs();
                clean += p.cleanBlockMs();
            }
            estimates[b] = save / clean - 1;
        }
        java.util.Arrays.sort(estimates);
        return new double[] {estimates[249], estimates[9_749]};
    }

    private static double sum(List<Double> xs, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += xs.get(i);
        return s;
    }
}
