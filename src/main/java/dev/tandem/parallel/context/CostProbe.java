package dev.tandem.parallel.context;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;

/**
 * Measures {@link SequenceCost} on the ranks themselves, as ByteScale profiles its cost model:
 * the seconds of one forward and backward of a sequence of L/4 and of L tokens (the best of a few
 * runs each; L as long as the model allows, so the quadratic term stands out of the noise), and at
 * L/2, fitted to {@code a·L + b·L(L+1)/2}. FLOP counts alone misjudge the split, because
 * attention's kernels and the matrix products run at different speeds. The times are averaged over
 * the pool, so every rank schedules with the same numbers (an all-reduce gives identical bits
 * everywhere).
 */
public final class CostProbe {
    private static final int RUNS = 3;

    private CostProbe() {}

    /**
     * The measured cost: times at L/4, L/2 and L fitted by least squares with both terms kept
     * non-negative (a term that would come out negative, from noise or cache effects, is dropped
     * and the other refitted alone); the FLOP estimate ({@link SequenceCost#of}) if nothing positive remains.
     */
    public static SequenceCost measure(GPT model, Kernels kernels, ProcessGroup pool) {
        int length = model.config().blockSize();
        int[] lengths = {Math.max(2, length / 4), Math.max(2, length / 2), length};
        double[] t = new double[lengths.length];
        for (int i = 0; i < lengths.length; i++) t[i] = best(model, kernels, lengths[i]);
        SequenceCost fitted = fit(lengths, average(pool, t));
        return fitted != null ? fitted : SequenceCost.of(model.config());
    }

    /** Least squares of {@code seconds ≈ a·L + b·L(L+1)/2} with a, b ≥ 0; null when neither is positive. */
    static SequenceCost fit(int[] lengths, double[] seconds) {
        double[] x = new double[lengths.length], y = new double[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            x[i] = lengths[i];
            y[i] = lengths[i] * (lengths[i] + 1.0) / 2;
        }
        double xx = dot(x, x), yy = dot(y, y), xy = dot(x, y), tx = dot(seconds, x), ty = dot(seconds, y);
        double det = xx * yy - xy * xy;
        double a = (tx * yy - ty * xy) / det, b = (ty * xx - tx * xy) / det;
        if (a < 0) {
            a = 0;
            b = ty / yy;
        } else if (b < 0) {
            b = 0;
            a = tx / xx;
        }
        return a > 0 || b > 0 ? new SequenceCost(a, b) : null;
    }

    private static double dot(double[] u, double[] v) {
        double s = 0;
        for (int i = 0; i < u.length; i++) s += u[i] * v[i];
        return s;
    }

    /** The fastest of a few forward and backward passes over one sequence of {@code length} random tokens. */
    private static double best(GPT model, Kernels kernels, int length) {
        double best = Double.MAX_VALUE;
        try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, length);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, length)) {
            for (int i = 0; i < length; i++) {
                ids.setInt(i, (i * 7919) % model.config().vocabSize());
                targets.setInt(i, (i * 104729) % model.config().vocabSize());
            }
            for (int run = 0; run <= RUNS; run++) {
                long t0 = System.nanoTime();
                try (Tape tape = new Tape(Hooks.NONE)) {
                    model.loss(new Ops(tape, kernels).withRecompute(RecomputePolicy.SELECTIVE), ids, targets, 0f);
                    tape.backward();
                }
                if (run > 0) best = Math.min(best, (System.nanoTime() - t0) / 1e9); // run 0 warms the code up
            }
        }
        model.zeroGrad();
        return best;
    }

    private static double[] average(ProcessGroup pool, double... values) {
        try (Tensor t = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, values.length)) {
            for (int i = 0; i < values.length; i++) t.set(i, (float) (values[i] / pool.size()));
            pool.allReduce(t.data(), DType.F32, values.length, ReduceOp.SUM);
            double[] out = new double[values.length];
            for (int i = 0; i < out.length; i++) out[i] = t.get(i);
            return out;
        }
    }
}
