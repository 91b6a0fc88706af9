package dev.tandem.optim;

import dev.tandem.nn.Parameter;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * AdamW (Loshchilov &amp; Hutter): {@code m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε)} with bias-corrected m̂, v̂. Weight decay applies only to
 * parameters whose {@link Parameter#decays()} is true (matrices; not biases, LayerNorm gains or
 * embeddings), unless a {@link ParamGroups} entry says otherwise; groups also scale the lr.
 * State: two float32 tensors per slice, named {@code exp_avg} and {@code exp_avg_sq} as in PyTorch.
 */
public final class AdamW extends BaseOptimizer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

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
    public AdamW(List<Parameter> params, Settings settings) {
        this(settings, ParamSlice.wholes(params));
    }

    /** AdamW over the slices this rank owns (e.g. a ZeRO shard). */
    public AdamW(Settings settings, List<ParamSlice> slices) {
        this(settings, slices, ParamGroups.NONE);
    }

    /** AdamW over slices with per-group lr multipliers and weight decay. */
    public AdamW(Settings settings, List<ParamSlice> slices, ParamGroups groups) {
        super(slices, groups);
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
        float bc1 = (float) (1 - Math.pow(s.beta1(), t));
        float bc2 = (float) (1 - Math.pow(s.beta2(), t));
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice p = slices.get(i);
            float lri = lr * groups.lrScale(p.name());
            float decay = 1f - lri * groups.weightDecay(p, s.weightDecay());
            update(p.value(), p.grad(), m.get(i).data(), v.get(i).data(), p.length(), lri, decay, bc1, bc2);
        }
    }

    private void update(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n,
                        float lr, float decay, float bc1, float bc2) {
        float b1 = s.beta1(), b2 = s.beta2(), eps = s.eps();
        float stepSize = lr / bc1;
        float invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
        WorkerPool.get().parallelFor(Math.toIntExact(n), 1 << 14, (from, to) -> {
            int i = from;
            for (; i + S.length() <= to; i += S.length()) {
                long off = (long) i * 4;
                FloatVector gv = FloatVector.fromMemorySegment(S, g, off, ByteOrder.nativeOrder());
                FloatVector mv = FloatVector.fromMemorySegment(S, m, off, ByteOrder.nativeOrder()).mul(b1).add(gv.mul(1 - b1));
                FloatVector vv = FloatVector.fromMemorySegment(S, v, off, ByteOrder.nativeOrder()).mul(b2).add(gv.mul(gv).mul(1 - b2));
                FloatVector denom = vv.lanewise(VectorOperators.SQRT).mul(invSqrtBc2).add(eps);
                FloatVector pv = FloatVector.fromMemorySegment(S, p, off, ByteOrder.nativeOrder()).mul(decay)
                        .sub(mv.div(denom).mul(stepSize));
                mv.intoMemorySegment(m, off, ByteOrder.nativeOrder());
                vv.intoMemorySegment(v, off, ByteOrder.nativeOrder());
                pv.intoMemorySegment(p, off, ByteOrder.nativeOrder());
            }
            // The tail does the vector body's operations in the same order, so an element's result
            // does not depend on where a shard boundary puts it.
            for (; i < to; i++) {
                float gi = g.getAtIndex(F, i);
                float mi = m.getAtIndex(F, i) * b1 + gi * (1 - b1);
                float vi = v.getAtIndex(F, i) * b2 + gi * gi * (1 - b2);
                float denom = (float) Math.sqrt(vi) * invSqrtBc2 + eps;
                m.setAtIndex(F, i, mi);
                v.setAtIndex(F, i, vi);
                p.setAtIndex(F, i, p.getAtIndex(F, i) * decay - mi / denom * stepSize);
            }
        });
    }
}
