package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW with block-wise 8-bit states (Dettmers et al.): m in the signed dynamic map, v in the
 * unsigned one, blocks of 256 with one float32 absmax each, so state costs ≈ 2 + 8/256 bytes
 * per element instead of 8. Slices under 4096 elements, and embeddings when
 * {@code stableEmbedding} is set, keep float32 state. The update is AdamW's (same order as
 * {@link AdamW}) computed in float32 on the dequantized block; a non-finite gradient element
 * zeroes its m and v and leaves its parameter untouched.
 */
public final class AdamW8bit extends BaseOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final AdamW.Settings s;
    private final List<StateVector> m = new ArrayList<>(), v = new ArrayList<>();

    public AdamW8bit(AdamW.Settings settings, List<ParamSlice> slices, ParamGroups groups, boolean stableEmbedding, Kernels kernels) {
        super(slices, groups, kernels);
        this.s = settings;
        for (ParamSlice p : this.slices) {
            boolean eight = EightBit.quantizes(p, stableEmbedding);
            String key = OptimizerState.prefix(p);
            m.add(StateVector.create(state, key + ".exp_avg", p.length(), QuantMap.SIGNED, eight));
            v.add(StateVector.create(state, key + ".exp_avg_sq", p.length(), QuantMap.UNSIGNED, eight));
        }
    }

    @Override
    public void step(float lr) {
        t++;
        float b1 = s.beta1(), b2 = s.beta2(), eps = s.eps();
        float bc1 = (float) (1 - Math.pow(b1, t));
        float invSqrtBc2 = (float) (1 / Math.sqrt(1 - Math.pow(b2, t)));
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice sl = slices.get(i);
            float lri = lr(sl, lr), decay = 1f - lri * groups.weightDecay(sl, s.weightDecay()), stepSize = lri / bc1;
            StateVector mi = m.get(i), vi = v.get(i);
            MemorySegment p = sl.value(), g = sl.grad();
            long n = sl.length();
            kernels.pool().parallelFor(Blockwise.blocks(n), 16, (from, to) -> {
                float[] mb = new float[Blockwise.BLOCK], vb = new float[Blockwise.BLOCK];
                for (int b = from; b < to; b++) {
                    long start = (long) b * Blockwise.BLOCK;
                    int len = (int) Math.min(Blockwise.BLOCK, n - start);
                    mi.read(b, mb, len);
                    vi.read(b, vb, len);
                    for (int j = 0; j < len; j++) {
                        long e = start + j;
                        float gj = g.getAtIndex(F, e);
                        if (!Float.isFinite(gj)) {
                            mb[j] = 0f;
                            vb[j] = 0f;
                            continue;
                        }
                        float mj = b1 * mb[j] + (1 - b1) * gj;
                        float vj = b2 * vb[j] + (1 - b2) * gj * gj;
                        mb[j] = mj;
                        vb[j] = vj;
                        float denom = (float) Math.sqrt(vj) * invSqrtBc2 + eps;
                        p.setAtIndex(F, e, p.getAtIndex(F, e) * decay - mj / denom * stepSize);
                    }
                    mi.write(b, mb, len);
                    vi.write(b, vb, len);
                }
            });
        }
    }
}
