package dev.tandem.optim;

import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Lion (Chen et al.), in the reference order: {@code p ← p·(1 − lr·wd); c = β1·m + (1−β1)·g;
 * p ← p − lr·sign(c); m ← β2·m + (1−β2)·g}. Every coordinate moves by exactly lr (or 0 where
 * c is 0) before decay, so Lion wants an lr 3–10× smaller and a wd 3–10× larger than AdamW.
 * State: one float32 tensor per slice ({@code exp_avg}), half of AdamW's.
 */
public final class Lion extends BaseOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Defaults from the reference: β = (0.9, 0.99). */
    public record Settings(float beta1, float beta2, float weightDecay) {}

    private final Settings s;
    private final List<Tensor> m = new ArrayList<>();

    public Lion(Settings settings, List<ParamSlice> slices, ParamGroups groups) {
        super(slices, groups);
        this.s = settings;
        for (ParamSlice p : this.slices) m.add(state.f32(OptimizerState.prefix(p) + ".exp_avg", Math.toIntExact(p.length())));
    }

    @Override
    public void step(float lr) {
        t++;
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice sl = slices.get(i);
            float lri = lr(sl, lr), decay = 1f - lri * groups.weightDecay(sl, s.weightDecay());
            float b1 = s.beta1(), b2 = s.beta2();
            MemorySegment p = sl.value(), g = sl.grad(), mm = m.get(i).data();
            WorkerPool.get().parallelFor(Math.toIntExact(sl.length()), 1 << 14, (from, to) -> {
                for (int j = from; j < to; j++) {
                    float gj = g.getAtIndex(F, j), mj = mm.getAtIndex(F, j);
                    float c = b1 * mj + (1 - b1) * gj;
                    p.setAtIndex(F, j, p.getAtIndex(F, j) * decay - lri * Math.signum(c));
                    mm.setAtIndex(F, j, b2 * mj + (1 - b2) * gj);
                }
            });
        }
    }
}
