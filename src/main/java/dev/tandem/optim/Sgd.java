package dev.tandem.optim;

import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * SGD with momentum, as PyTorch defines it: {@code g ← g + wd·p} (L2, coupled: the classic SGD
 * form), {@code b ← μ·b + g}, {@code u = g + μ·b} (Nesterov) or {@code u = b}, {@code p ← p − lr·u}.
 * State: one float32 momentum buffer per slice ({@code momentum_buffer}).
 */
public final class Sgd extends BaseOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    public record Settings(float momentum, boolean nesterov, float weightDecay) {}

    private final Settings s;
    private final List<Tensor> buf = new ArrayList<>();

    public Sgd(Settings settings, List<ParamSlice> slices, ParamGroups groups) {
        super(slices, groups);
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
            MemorySegment p = sl.value(), g = sl.grad(), b = buf.get(i).data();
            WorkerPool.get().parallelFor(Math.toIntExact(sl.length()), 1 << 14, (from, to) -> {
                for (int j = from; j < to; j++) {
                    float pj = p.getAtIndex(F, j);
                    float gj = g.getAtIndex(F, j) + wd * pj;
                    float bj = mu * b.getAtIndex(F, j) + gj;
                    b.setAtIndex(F, j, bj);
                    float u = nesterov ? gj + mu * bj : bj;
                    p.setAtIndex(F, j, pj - lri * u);
                }
            });
        }
    }
}
