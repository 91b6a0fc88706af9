package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Muon for the hidden matrices (c_attn, c_proj, c_fc weights), AdamW for everything else
 * (embeddings, the tied head, biases and LayerNorm gains). Per hidden matrix:
 * {@code m ← β·m + (1−β)·g; u = (1−β)·g + β·m} (Nesterov; {@code u = m} without);
 * {@code p ← p·(1 − lr·wd) − lr'·NS(u)}.
 *
 * <p>Two learning-rate conventions ({@link Scale}): SPECTRAL (Keller Jordan's reference) uses
 * {@code lr' = lr·√max(1, rows/cols)} with Muon's own lr (0.02) and AdamW at
 * {@code lr·adamLrRatio} (3e-4 / 0.02); MATCHED (Moonlight) uses {@code lr' = lr·0.2·√max(rows, cols)},
 * which gives updates of AdamW's RMS so both parts share one lr and wd (ratio 1).
 *
 * <p>rows/cols are those of the PyTorch {@code Linear} weight [out, in] the reference sees; Tandem
 * stores the GPT-2 Conv1D layout [in, out], its transpose, so rows = shape[1], cols = shape[0].
 * NS itself does not care about orientation.
 */
public final class Muon extends BaseOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final Pattern HIDDEN = Pattern.compile("(c_attn|c_proj|c_fc)\\.weight$");

    public enum Scale { SPECTRAL, MATCHED }

    /** Defaults: β 0.95, Nesterov, 5 NS steps, SPECTRAL with AdamW at 3e-4/0.02 of the lr. */
    public record Settings(float momentum, boolean nesterov, int nsSteps, Scale scale, float adamLrRatio, float weightDecay) {}

    private final Settings s;
    private final List<Tensor> buf = new ArrayList<>();
    private final AdamW adam;

    public Muon(Settings settings, AdamW.Settings adamSettings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels) {
        super(hidden(slices, true), groups, kernels);
        this.s = settings;
        for (ParamSlice p : this.slices) {
            WholeMatrices.require("Muon", p);
            buf.add(state.f32(p.name() + ".momentum_buffer", p.shape()));
        }
        this.adam = new AdamW(adamSettings, hidden(slices, false), groups, kernels);
    }

    /** Whether Muon (rather than its AdamW) updates this parameter: a hidden 2-D weight. */
    public static boolean isHidden(ParamSlice s) {
        return isHidden(s.name(), s.shape());
    }

    static boolean isHidden(String name, int[] shape) {
        return shape.length == 2 && HIDDEN.matcher(name).find();
    }

    private static List<ParamSlice> hidden(List<ParamSlice> all, boolean want) {
        List<ParamSlice> out = new ArrayList<>();
        for (ParamSlice p : all) if (isHidden(p) == want) out.add(p);
        return out;
    }

    /** The lr multiplier of a [in, out] matrix under the chosen convention. */
    static float shapeScale(Scale scale, int in, int out) {
        return switch (scale) {
            case SPECTRAL -> (float) Math.sqrt(Math.max(1.0, (double) out / in));
            case MATCHED -> (float) (0.2 * Math.sqrt(Math.max(in, out)));
        };
    }

    @Override
    public void step(float lr) {
        t++;
        float beta = s.momentum();
        for (int i = 0; i < slices.size(); i++) {
            ParamSlice sl = slices.get(i);
            int in = sl.shape()[0], out = sl.shape()[1];
            int n = in * out;
            float lri = lr(sl, lr);
            float decay = 1f - lri * groups.weightDecay(sl, s.weightDecay());
            float lrUpdate = lri * shapeScale(s.scale(), in, out);
            MemorySegment p = sl.value(), g = sl.grad(), m = buf.get(i).data();
            try (Tensor u = Tensor.zeros(MemoryCategory.OTHER, in, out);
                 Tensor o = Tensor.zeros(MemoryCategory.OTHER, in, out)) {
                MemorySegment us = u.data();
                for (int j = 0; j < n; j++) {
                    float gj = g.getAtIndex(F, j);
                    float mj = beta * m.getAtIndex(F, j) + (1 - beta) * gj;
                    m.setAtIndex(F, j, mj);
                    us.setAtIndex(F, j, s.nesterov() ? (1 - beta) * gj + beta * mj : mj);
                }
                NewtonSchulz.orthogonalize(us, in, out, s.nsSteps(), o.data(), kernels);
                MemorySegment os = o.data();
                for (int j = 0; j < n; j++) p.setAtIndex(F, j, p.getAtIndex(F, j) * decay - lrUpdate * os.getAtIndex(F, j));
            }
        }
        adam.step(lr * s.adamLrRatio());
    }

    @Override
    public List<ParamSlice> slices() {
        List<ParamSlice> all = new ArrayList<>(slices);
        all.addAll(adam.slices());
        return all;
    }

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> all = new LinkedHashMap<>(state.view());
        all.putAll(adam.state());
        return all;
    }

    @Override
    public void load(Map<String, Tensor> source, long steps) {
        Map<String, Tensor> mine = new LinkedHashMap<>(), theirs = new LinkedHashMap<>();
        source.forEach((k, v) -> (state.view().containsKey(k) ? mine : theirs).put(k, v));
        state.load(mine);
        adam.load(theirs, steps);
        this.t = steps;
    }

    @Override
    public void close() {
        super.close();
        adam.close();
    }
}
