package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * SGD with momentum, as PyTorch defines it: {@code g ← g + wd·p} (L2, coupled: the classic SGD
 * form), {@code b ← μ·b + g}, {@code u = g + μ·b} (Nesterov) or {@code u = b}, {@code p ← p − lr·u}.
 * State: one float32 momentum buffer per slice ({@code momentum_buffer}). The update is the
 * provider's ({@link dev.tandem.tensor.OptimizerKernels#sgd}).
 */
public final class Sgd extends BaseOptimizer {
    public record Settings(float momentum, boolean nesterov, float weightDecay) {}

    private final Settings s;
    private final List<Tensor> buf = new ArrayList<>();

    public Sgd(Settings settings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels) {
        super(slices, groups, kernels);
        this.s = settings;
        for (ParamSlice p : this.slices) {
            buf.add(state.f32(OptimizerState.prefix(p) + ".momentum_buffer", Math.toIntExact(p.length())));
        }
    }

    @Override
    public void step(float lr) {
        t++;
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice sl = slices.get(i);
            float lri = lr(sl, lr), wd = groups.weightDecay(sl, s.weightDecay()), mu = s.momentum();
            boolean nesterov = s.nesterov();
            kernels.optimizer().sgd(sl.value(), sl.grad(), buf.get(i).data(), sl.length(), lri, wd, mu, nesterov);
        }
    }
}
