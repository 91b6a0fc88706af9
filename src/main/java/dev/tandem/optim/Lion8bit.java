package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Lion with its one moment stored block-wise in 8 bits (signed dynamic map, blocks of 256,
 * float32 absmax per block): ≈ 1 + 4/256 bytes per element instead of 4. Same rules as
 * {@link AdamW8bit} for small tensors, stable embeddings and non-finite gradients.
 */
public final class Lion8bit extends BaseOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Lion.Settings s;
    private final List<StateVector> m = new ArrayList<>();

    public Lion8bit(Lion.Settings settings, List<ParamSlice> slices, ParamGroups groups, boolean stableEmbedding, Kernels kernels) {
        super(slices, groups, kernels);
        this.s = settings;
        for (ParamSlice p : this.slices) {
            m.add(StateVector.create(state, OptimizerState.prefix(p) + ".exp_avg", p.length(), QuantMap.SIGNED,
                    EightBit.quantizes(p, stableEmbedding)));
        }
    }

    @Override
    public void step(float lr) {
        t++;
        float b1 = s.beta1(), b2 = s.beta2();
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice sl = slices.get(i);
            float lri = lr(sl, lr), decay = 1f - lri * groups.weightDecay(sl, s.weightDecay());
            StateVector mi = m.get(i);
            MemorySegment p = sl.value(), g = sl.grad();
            long n = sl.length();
            kernels.pool().parallelFor(Blockwise.blocks(n), 16, (from, to) -> {
                float[] mb = new float[Blockwise.BLOCK];
                for (int b = from; b < to; b++) {
                    long start = (long) b * Blockwise.BLOCK;
                    int len = (int) Math.min(Blockwise.BLOCK, n - start);
                    mi.read(b, mb, len);
                    for (int j = 0; j < len; j++) {
                        long e = start + j;
                        float gj = g.getAtIndex(F, e);
                        if (!Float.isFinite(gj)) {
                            mb[j] = 0f;
                            continue;
                        }
                        float c = b1 * mb[j] + (1 - b1) * gj;
                        p.setAtIndex(F, e, p.getAtIndex(F, e) * decay - lri * Math.signum(c));
                        mb[j] = b2 * mb[j] + (1 - b2) * gj;
                    }
                    mi.write(b, mb, len);
                }
            });
        }
    }
}
