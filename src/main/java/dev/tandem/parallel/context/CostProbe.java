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
 * runs each; L as long as the model allows, so the quadratic term stands out of the noise), fitted
 * to {@code a·L + b·L(L+1)/2}. FLOP counts alone misjudge the split, because
 * attention's kernels and the matrix products run at different speeds. The times are averaged over
 * the pool, so every rank schedules with the same numbers (an all-reduce gives identical bits
 * everywhere). Where the fit is not positive (noise) it falls back to the FLOP estimate.
 */
public final class CostProbe {
    private static final int RUNS = 3;

    private CostProbe() {}

    /** The measured cost, or the FLOP estimate ({@link SequenceCost#of}) when the fit is not positive. */
    public static SequenceCost measure(GPT model, Kernels kernels, ProcessGroup pool) {
        int length = model.config().blockSize();
        int shortLength = Math.max(2, length / 4);
        double tShort = best(model, kernels, shortLength), tLong = best(model, kernels, length);
        double[] t = average(pool, tShort, tLong);
        // t = a·L + b·L(L+1)/2 at two lengths: two equations, two unknowns.
        double l1 = shortLength, l2 = length, p1 = l1 * (l1 + 1) / 2, p2 = l2 * (l2 + 1) / 2;
        double b = (t[1] * l1 - t[0] * l2) / (p2 * l1 - p1 * l2), a = (t[0] - b * p1) / l1;
        SequenceCost flops = SequenceCost.of(model.config());
        return a > 0 && b > 0 ? new SequenceCost(a, b) : flops;
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
            return new double[] {t.get(0), t.get(1)};
        }
    }
}
