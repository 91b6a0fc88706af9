package dev.tandem.parallel.islands;

import dev.tandem.TandemException;
import dev.tandem.comm.IslandChannel;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.OuterSpec;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DiLoCo or NoLoCo around the inner optimizer of an island, from outside: {@link #step} runs the
 * inner step, and after every {@code outer_steps}-th one the outer step, on the same parameter
 * slices (the elements this rank's inner optimizer updates, so ZeRO shards and tensor-parallel
 * parts take part as they are). The inner optimizer's state is kept across outer steps.
 *
 * <p>Per slice it keeps the outer weights θ (the weights at the last outer step) and the outer
 * momentum, as optimizer state named {@code <slice>.outer_weights} and {@code
 * <slice>.outer_momentum}: checkpoints save and reshard them with the inner state, so a resume
 * continues bit-exactly between outer steps and right after one.
 *
 * <p>DiLoCo (φ the inner weights after H steps, φ̄ their mean over all islands): g = θ − φ̄; m ←
 * μ·m + g; θ ← θ − lr·(g + μ·m) (Nesterov SGD as PyTorch writes it), computed as φ̄ + (1 − lr)·g −
 * lr·μ·m, which is the same number and leaves φ̄ exactly when lr = 1 and μ = 0; then φ ← θ.
 *
 * <p>NoLoCo (islands paired by {@link Pairing}; φ̄ the pair's mean of inner weights): d = φ̄ − θ; m ←
 * β·m + α·d; θ ← θ + m, computed as φ̄ + (α − 1)·d + β·m_old; then φ ← θ. This is SPECS's m ← β·m +
 * α·mean(δ) + α·(mean(θ) − θ_i) with δ = φ − θ, the update of the NoLoCo authors' code (which
 * exchanges θ and δ apart; docs/LOWCOMM.md): the pull towards the pair's weights is weighted like
 * the pseudo-gradient, so mean(δ) + mean(θ) = mean(φ) and one exchange of weights per pair suffices.
 */
public final class OuterOptimizer implements Optimizer {
    private final Optimizer inner;
    private final OuterSpec spec;
    private final IslandChannel channel;
    private final List<ParamSlice> slices;
    private final List<Tensor> outerWeights = new ArrayList<>(), momentum = new ArrayList<>();
    private final Map<String, Tensor> state = new LinkedHashMap<>();
    private final long elements;

    /** Wraps {@code inner}; the outer weights start as the slices' current values (the shared initial model). */
    public OuterOptimizer(Optimizer inner, OuterSpec spec, IslandChannel channel) {
        if (spec.algorithm() != OuterSpec.Algorithm.DILOCO && spec.algorithm() != OuterSpec.Algorithm.NOLOCO) {
            throw new IllegalArgumentException("the outer optimizer runs diloco or noloco, not " + spec.algorithm().configName());
        }
        this.inner = inner;
        this.spec = spec;
        this.channel = channel;
        this.slices = inner.slices();
        long n = 0;
        state.putAll(inner.state());
        for (ParamSlice s : slices) {
            int len = Math.toIntExact(s.length());
            Tensor w = Tensor.allocate(DType.F32, MemoryCategory.OPTIMIZER_STATE, len);
            Tensor m = Tensor.allocate(DType.F32, MemoryCategory.OPTIMIZER_STATE, len);
            w.data().copyFrom(s.value());
            outerWeights.add(w);
            momentum.add(m);
            String prefix = s.isWhole() ? s.name() : s.name() + "@" + s.offset();
            state.put(prefix + ".outer_weights", w);
            state.put(prefix + ".outer_momentum", m);
            n += s.length();
        }
        this.elements = n;
    }

    @Override
    public void step(float lr) {
        inner.step(lr);
        if (inner.steps() % spec.steps() == 0) outerStep(inner.steps());
    }

    /** The outer step after inner step {@code step}: average (all islands or a pair), then the Nesterov update of θ, then φ ← θ. */
    private void outerStep(long step) {
        try (Tensor packed = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, Math.toIntExact(Math.max(1, elements)))) {
            MemorySegment mean = packed.data();
            pack(mean);
            if (spec.algorithm() == OuterSpec.Algorithm.DILOCO) {
                channel.allReduceMean(mean, elements);
                update(mean, (float) (1 - spec.lr()), (float) (spec.lr() * spec.momentum()), true);
            } else {
                try (Tensor theirs = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, Math.toIntExact(Math.max(1, elements)))) {
                    channel.exchange(Pairing.peer(channel.islands(), step, channel.island()), mean, theirs.data(), elements);
                    for (long i = 0; i < elements; i++) {
                        float a = mean.getAtIndex(ValueLayout.JAVA_FLOAT, i), b = theirs.data().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        mean.setAtIndex(ValueLayout.JAVA_FLOAT, i, (a + b) / 2); // a + b == b + a: both peers get the same bits
                    }
                }
                update(mean, (float) (spec.alpha() - 1), (float) spec.beta(), false);
            }
        }
    }

    private void pack(MemorySegment flat) {
        long at = 0;
        for (ParamSlice s : slices) {
            MemorySegment.copy(s.value(), 0, flat, at * 4, s.length() * 4);
            at += s.length();
        }
    }

    /**
     * θ and φ ← the outer update from the mean weights; terms whose coefficient is 0 are skipped, so
     * the degenerate settings (DiLoCo lr 1 momentum 0, NoLoCo α 1 β 0) land on the mean exactly.
     *
     * @param diloco true: c1 = 1 − lr, c2 = lr·μ, g = θ − mean, m ← μ·m + g, θ ← mean + c1·g − c2·m;
     *               false (NoLoCo): c1 = α − 1, c2 = β, d = mean − θ, θ ← mean + c1·d + c2·m, m ← β·m + α·d
     */
    private void update(MemorySegment mean, float c1, float c2, boolean diloco) {
        float mu = (float) spec.momentum(), alpha = (float) spec.alpha(), beta = (float) spec.beta();
        long at = 0;
        for (int j = 0; j < slices.size(); j++) {
            ParamSlice s = slices.get(j);
            MemorySegment theta = outerWeights.get(j).data(), m = momentum.get(j).data(), phi = s.value();
            for (long i = 0; i < s.length(); i++, at++) {
                float avg = mean.getAtIndex(ValueLayout.JAVA_FLOAT, at), th = theta.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                float mOld = m.getAtIndex(ValueLayout.JAVA_FLOAT, i), next = avg, mNew;
                if (diloco) {
                    float g = th - avg;
                    mNew = mu * mOld + g;
                    if (c1 != 0) next += c1 * g;
                    if (c2 != 0) next -= c2 * mNew;
                } else {
                    float d = avg - th;
                    mNew = beta * mOld + alpha * d;
                    if (c1 != 0) next += c1 * d;
                    if (c2 != 0) next += c2 * mOld;
                }
                m.setAtIndex(ValueLayout.JAVA_FLOAT, i, mNew);
                theta.setAtIndex(ValueLayout.JAVA_FLOAT, i, next);
                phi.setAtIndex(ValueLayout.JAVA_FLOAT, i, next);
            }
        }
    }

    /** Float32 bytes of the weights this rank sends at each outer step (all its slices). */
    public long bytesPerOuterStep() {
        return elements * 4;
    }

    @Override
    public List<ParamSlice> slices() {
        return slices;
    }

    @Override
    public long steps() {
        return inner.steps();
    }

    /** The inner optimizer's state, then the outer weights and momentum of every slice. */
    @Override
    public Map<String, Tensor> state() {
        return java.util.Collections.unmodifiableMap(state);
    }

    @Override
    public void load(Map<String, Tensor> source, long steps) {
        Map<String, Tensor> innerPart = new LinkedHashMap<>(source);
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            if (!e.getKey().endsWith(".outer_weights") && !e.getKey().endsWith(".outer_momentum")) continue;
            Tensor src = innerPart.remove(e.getKey());
            if (src == null) {
                throw new TandemException("the checkpoint has no outer state '" + e.getKey() + "': it was not written by a run with outer = "
                        + spec.algorithm().configName() + " (resume with the plan it was written with)");
            }
            if (src.dtype() != DType.F32 || !Arrays.equals(src.shape(), e.getValue().shape())) {
                throw new TandemException("outer state '" + e.getKey() + "' is " + src + ", expected " + e.getValue());
            }
            if (src != e.getValue()) e.getValue().copyFrom(src);
        }
        inner.load(innerPart, steps);
    }

    @Override
    public void close() {
        outerWeights.forEach(Tensor::close);
        momentum.forEach(Tensor::close);
        inner.close();
    }
}
