package dev.tandem.ckpt;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.TestKernels;
import dev.tandem.train.config.TrainConfig;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The state of one rank of an N-rank ZeRO job without running one: a model split by
 * {@link dev.tandem.parallel.DataParallel} flat units over an in-process group (no communication happens), and
 * an optimizer over this rank's slices, stepped a few times with gradients that depend only on
 * (parameter, element, step), so every layout sees the same gradient for the same element.
 */
final class RankFixture implements AutoCloseable {
    static final GPTConfig MODEL = new GPTConfig(1, 2, 8, 11, 6);

    final GPT model;
    final dev.tandem.parallel.DataParallel dp;
    final Optimizer opt;
    final String optimizer;
    private final ProcessGroup group;

    private RankFixture(GPTConfig config, ProcessGroup g, int stage, String optimizer) {
        this.optimizer = optimizer;
        this.group = g;
        this.model = GPT.initialized(config, 5);
        this.dp = dev.tandem.parallel.DataParallel.apply(model, g, ZeroStage.of(stage), Optimizers.updatedWhole(optimizer), TestKernels.FAST);
        this.opt = Optimizers.create(optimizer, TrainConfig.defaults().optimizerSettings(), dp.optimizerSlices(), TestKernels.FAST);
    }

    /** Every rank of an {@code n}-rank job at ZeRO {@code stage}, after {@code steps} optimizer steps. */
    static List<RankFixture> job(int n, int stage, String optimizer, int steps) {
        return job(MODEL, n, stage, optimizer, steps);
    }

    static List<RankFixture> job(GPTConfig config, int n, int stage, String optimizer, int steps) {
        List<RankFixture> out = new ArrayList<>();
        for (ProcessGroup g : LocalWorld.create(n, CommOptions.defaults())) out.add(new RankFixture(config, g, stage, optimizer));
        for (RankFixture r : out) for (int s = 1; s <= steps; s++) r.step(s);
        return out;
    }

    void step(int step) {
        for (ParamSlice s : dp.optimizerSlices()) {
            for (long i = 0; i < s.length(); i++) {
                long e = s.offset() + i;
                s.grad().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(0.37 * e + 1.3 * step + s.name().length()) * 0.01f);
            }
        }
        opt.step(1e-2f);
    }

    /** What this rank saves (as the trainer does: at stage 0 only rank 0 has anything to add). */
    List<Piece> pieces() {
        if (!dp.stage().shardsOptimizer() && dp.rank() != 0) return List.of();
        return Pieces.of(dp.optimizerSlices(), opt.state());
    }

    /** The parameter's value elements [offset, offset + length) as this rank holds them. */
    float[] values(ParamSlice s) {
        return s.value().toArray(ValueLayout.JAVA_FLOAT);
    }

    @Override
    public void close() {
        opt.close();
        dp.close();
        model.close();
        group.close(); // its links hold off-heap buffers
    }
}
