package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Lion (Chen et al.), in the reference order: {@code p ← p·(1 − lr·wd); c = β1·m + (1−β1)·g;
 * p ← p − lr·sign(c); m ← β2·m + (1−β2)·g}. Every coordinate moves by exactly lr (or 0 where
 * c is 0) before decay, so Lion wants an lr 3–10× smaller and a wd 3–10× larger than AdamW.
 * State: one float32 tensor per slice ({@code exp_avg}), half of AdamW's. The update is the
 * provider's ({@link dev.tandem.tensor.OptimizerKernels#lion}).
 */
public final class Lion extends BaseOptimizer {
    /** Defaults from the reference: β = (0.9, 0.99). */
    public record Settings(float beta1, float beta2, float weightDecay) {}

    private final Settings s;
    private final List<Tensor> m = new ArrayList<>();

    public Lion(Settings settings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels) {
        super(slices, groups, kernels);
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
            kernels.optimizer().lion(sl.value(), sl.grad(), m.get(i).data(), sl.length(), lri, decay, b1, b2);
        }
    }
}
