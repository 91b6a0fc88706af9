package dev.tandem.optim;

import dev.tandem.nn.Parameter;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.OptimizerKernels;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov &amp; Hutter): {@code m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε)} with bias-corrected m̂, v̂. Weight decay applies only to
 * parameters whose {@link Parameter#decays()} is true (matrices; not biases, LayerNorm gains or
 * embeddings), unless a {@link ParamGroups} entry says otherwise; groups also scale the lr.
 * State: two float32 tensors per slice, named {@code exp_avg} and {@code exp_avg_sq} as in PyTorch.
 * The update is the provider's ({@link OptimizerKernels#adamW}).
 */
public final class AdamW extends BaseOptimizer {
    public record Settings(float beta1, float beta2, float eps, float weightDecay) {
        /** Typical GPT settings: β = (0.9, 0.95), ε = 1e-8, weight decay 0.1. */
        public static Settings gpt() {
            return new Settings(0.9f, 0.95f, 1e-8f, 0.1f);
        }
    }

    private final List<Tensor> m = new ArrayList<>();
    private final List<Tensor> v = new ArrayList<>();
    private final Settings s;

    /** AdamW over whole parameters (one rank). */
    public AdamW(List<Parameter> params, Settings settings, Kernels kernels) {
        this(settings, ParamSlice.wholes(params), kernels);
    }

    /** AdamW over the slices this rank owns (e.g. a ZeRO shard). */
    public AdamW(Settings settings, List<ParamSlice> slices, Kernels kernels) {
        this(settings, slices, ParamGroups.NONE, kernels);
    }

    /** AdamW over slices with per-group lr multipliers and weight decay. */
    public AdamW(Settings settings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels) {
        super(slices, groups, kernels);
        this.s = settings;
        for (ParamSlice p : this.slices) {
            String key = OptimizerState.prefix(p);
            m.add(state.f32(key + ".exp_avg", Math.toIntExact(p.length())));
            v.add(state.f32(key + ".exp_avg_sq", Math.toIntExact(p.length())));
        }
    }

    @Override
    public void step(float lr) {
        t++;
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice p = slices.get(i);
            float lri = lr * groups.lrScale(p.name());
            float decay = 1f - lri * groups.weightDecay(p, s.weightDecay());
            kernels.optimizer().adamW(p.value(), p.grad(), m.get(i).data(), v.get(i).data(), p.length(),
                    new OptimizerKernels.AdamW(s.beta1(), s.beta2(), s.eps(), lri, decay, t));
        }
    }
}
