package dev.tandem.parallel;

import dev.tandem.comm.Mesh;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.optim.AdamW;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One rank of a dp × tp training job on a tiny GPT, driven the way the trainer drives a step
 * (zeroGrad, forward and backward on a tape, finish gradients, clip, AdamW, afterOptimizerStep).
 * The data is a pure function of (step, row), so every layout sees the same global batch.
 */
final class TpRank implements AutoCloseable {
    static final GPTConfig MODEL = new GPTConfig(2, 4, 32, 64, 16);
    static final int BATCH = 4;
    static final long SEED = 7;
    static final float LR = 3e-3f;
    static final double CLIP = 1.0;

    final GPT model;
    final TensorParallel tp;
    final DataParallel dp;
    final AdamW opt;
    private final Mesh mesh;
    private final Tensor ids, targets;

    /**
     * Splits the model over a (dp × tp) mesh of {@code world}: tensor parallelism first, then data
     * parallelism at ZeRO {@code stage} over the local parts, then the optimizer over this rank's slices.
     */
    TpRank(GPT model, ProcessGroup world, int dpSize, int tpSize, int stage, boolean sequenceParallel) {
        this.model = model;
        this.mesh = Mesh.create(world, List.of(new Mesh.Axis("dp", dpSize), new Mesh.Axis("tp", tpSize)));
        this.tp = TensorParallel.apply(model, mesh.group("tp"), sequenceParallel);
        this.dp = DataParallel.apply(model, mesh.group("dp"), ZeroStage.of(stage), TestKernels.FAST);
        this.opt = new AdamW(AdamW.Settings.gpt(), dp.optimizerSlices(), TestKernels.FAST);
        int rows = BATCH / dp.size();
        this.ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, rows, MODEL.blockSize());
        this.targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, rows, MODEL.blockSize());
    }

    /** Forward and backward of step {@code step} on this rank's rows; gradients finished, not clipped. Returns the mean loss. */
    double backward(int step) {
        fill(step, dp.rank() * ids.dim(0), ids, targets);
        dp.zeroGrad();
        dp.beginMicroBatch(0, 1);
        double loss;
        try (Tape tape = new Tape(dp)) {
            loss = model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f);
            tape.backward();
        }
        dp.finishGradients();
        tp.finishGradients(dp);
        return dp.average(loss);
    }

    /** One whole training step; returns the loss. */
    double step(int step) {
        double loss = backward(step);
        tp.clipGradients(dp, CLIP);
        opt.step(LR);
        dp.afterOptimizerStep();
        return loss;
    }

    /** Rows [first, first + ids.dim(0)) of step {@code step}'s batch: a noisy affine chain that a small model learns. */
    static void fill(int step, int first, Tensor ids, Tensor targets) {
        int t = ids.dim(1), v = MODEL.vocabSize();
        for (int i = 0; i < ids.dim(0); i++) {
            SplittableRandom rng = new SplittableRandom(1000L * step + first + i);
            int tok = rng.nextInt(v);
            for (int j = 0; j <= t; j++) {
                if (j < t) ids.setInt((long) i * t + j, tok);
                if (j > 0) targets.setInt((long) i * t + j - 1, tok);
                tok = rng.nextInt(6) == 0 ? rng.nextInt(v) : (tok * 5 + 3) % v;
            }
        }
    }

    @Override
    public void close() {
        ids.close();
        targets.close();
        opt.close();
        dp.close();
        model.close();
        mesh.group("tp").close(); // subgroups hold communication buffers
        mesh.group("dp").close();
    }
}
