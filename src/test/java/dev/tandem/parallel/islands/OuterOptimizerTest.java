package dev.tandem.parallel.islands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.IslandChannel;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.PacedLink;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.OuterSpec;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * DiLoCo's and NoLoCo's outer step on islands (ranks as threads), around an inner optimizer that
 * adds a known, island-dependent amount per step, so the expected weights can be computed by hand.
 * The training tests (IslandTrainingTest) run the same with AdamW and ranks as processes.
 */
class OuterOptimizerTest {
    private static final int N = 37;

    /** Inner "optimizer": each step adds {@code (island + 1)·0.01·sin(i + step)} to element i. */
    private static final class Scripted implements Optimizer {
        private final Tensor value = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.PARAMETERS, N);
        private final Tensor grad = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.GRADIENTS, N);
        private final int island;
        private long steps;

        Scripted(int island) {
            this.island = island;
            for (int i = 0; i < N; i++) value.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.cos(i));
        }

        static float delta(int island, int i, long step) {
            return (float) ((island + 1) * 0.01 * Math.sin(i + step));
        }

        @Override
        public void step(float lr) {
            steps++;
            for (int i = 0; i < N; i++) {
                value.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, value.data().getAtIndex(ValueLayout.JAVA_FLOAT, i) + delta(island, i, steps));
            }
        }

        float get(int i) {
            return value.data().getAtIndex(ValueLayout.JAVA_FLOAT, i);
        }

        @Override
        public List<ParamSlice> slices() {
            return List.of(new ParamSlice("w", new int[] {N}, true, 0, N, value.data(), grad.data()));
        }

        @Override
        public long steps() {
            return steps;
        }

        @Override
        public Map<String, Tensor> state() {
            return Map.of();
        }

        @Override
        public void load(Map<String, Tensor> state, long steps) {
            this.steps = steps;
        }

        @Override
        public void close() {
            value.close();
            grad.close();
        }
    }

    private static OuterSpec spec(OuterSpec.Algorithm a, int h) {
        return OuterSpec.NONE.withAlgorithm(a).withSteps(h);
    }

    @Test
    void nolocoWithAlphaOneAndBetaZeroPutsBothPeersAtThePairMean() {
        int islands = 4, h = 3;
        OuterSpec spec = spec(OuterSpec.Algorithm.NOLOCO, h).withNoLoCo(1, 0);
        float[][] before = new float[islands][N], after = new float[islands][N];
        long[] bytes = new long[islands];
        LocalWorld.run(islands, CommOptions.defaults(), g -> {
            Scripted inner = new Scripted(g.rank());
            try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled()); OuterOptimizer opt = new OuterOptimizer(inner, spec, ch)) {
                for (int s = 0; s < h - 1; s++) opt.step(0);
                for (int i = 0; i < N; i++) before[g.rank()][i] = inner.get(i) + Scripted.delta(g.rank(), i, h);
                opt.step(0); // the h-th step: inner step, then the exchange with the peer
                for (int i = 0; i < N; i++) after[g.rank()][i] = inner.get(i);
                bytes[g.rank()] = ch.bytesSent();
            }
        });
        int[] order = Pairing.order(islands, h);
        for (int p = 0; p < islands; p += 2) {
            int a = order[p], b = order[p + 1];
            for (int i = 0; i < N; i++) {
                float mean = (before[a][i] + before[b][i]) / 2;
                assertThat(after[a][i]).isEqualTo(mean);
                assertThat(after[b][i]).isEqualTo(mean);
            }
        }
        // Each rank sent its weights once: the model's bytes times 2 per pair, over islands/2 pairs.
        long total = 0;
        for (long b : bytes) {
            assertThat(b).isEqualTo(N * 4L);
            total += b;
        }
        assertThat(total).isEqualTo(N * 4L * 2 * (islands / 2));
    }

    @Test
    void nolocoPairsOfAnyRanksExchangeLargeWeightsWithoutWaitingOnEachOther() {
        // Weights larger than a transport's buffer, and enough outer steps that pairs of two even and
        // of two odd ranks come up (each pair must not have both sides send, or both receive, first).
        int islands = 4, n = 1 << 20;
        OuterSpec spec = spec(OuterSpec.Algorithm.NOLOCO, 1);
        java.util.Set<String> pairs = new java.util.HashSet<>();
        for (long step = 1; step <= 12; step++) {
            int[] o = Pairing.order(islands, step);
            for (int p = 0; p < islands; p += 2) pairs.add(Math.min(o[p], o[p + 1]) % 2 + "" + Math.max(o[p], o[p + 1]) % 2);
        }
        assertThat(pairs).contains("00", "11");
        LocalWorld.run(islands, CommOptions.defaults(), g -> {
            try (Tensor value = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.PARAMETERS, n);
                 Tensor grad = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.GRADIENTS, n);
                 IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled())) {
                Optimizer inner = new Optimizer() {
                    long steps;

                    public void step(float lr) { steps++; }
                    public List<ParamSlice> slices() { return List.of(new ParamSlice("w", new int[] {n}, true, 0, n, value.data(), grad.data())); }
                    public long steps() { return steps; }
                    public Map<String, Tensor> state() { return Map.of(); }
                    public void load(Map<String, Tensor> state, long steps) { this.steps = steps; }
                    public void close() { }
                };
                try (OuterOptimizer opt = new OuterOptimizer(inner, spec, ch)) {
                    for (int s = 0; s < 12; s++) opt.step(0);
                }
                assertThat(ch.bytesSent()).isEqualTo(12L * n * 4);
            }
        });
    }

    @Test
    void nolocoFollowsTheAuthorsUpdateWithTheOuterWeightsAndPseudoGradientsExchangedApart() {
        // The authors' code (jkolehm/noloco, src/noloco/sparse_optimizer_c.py) exchanges θ and δ = φ − θ
        // separately and applies m ← β·m + α·mean(δ) + α·(mean(θ) − θ_i), θ_i ← θ_i + m, φ_i ← θ_i. Tandem
        // exchanges φ only (the same mean in exact arithmetic); after the first outer step the islands'
        // θ differ, so this checks the pull towards the pair's outer weights, not just the first step.
        int islands = 4, h = 2, outerSteps = 4;
        double alpha = 0.7, beta = 0.5;
        OuterSpec spec = spec(OuterSpec.Algorithm.NOLOCO, h).withNoLoCo(alpha, beta);
        float[][] finals = new float[islands][N];
        LocalWorld.run(islands, CommOptions.defaults(), g -> {
            Scripted inner = new Scripted(g.rank());
            try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled()); OuterOptimizer opt = new OuterOptimizer(inner, spec, ch)) {
                for (int s = 0; s < h * outerSteps; s++) opt.step(0);
                for (int i = 0; i < N; i++) finals[g.rank()][i] = inner.get(i);
            }
        });
        for (int i = 0; i < N; i++) {
            double[] theta = new double[islands], m = new double[islands], phi = new double[islands];
            java.util.Arrays.fill(theta, (float) Math.cos(i));
            for (int o = 1; o <= outerSteps; o++) {
                long step = (long) o * h;
                for (int isl = 0; isl < islands; isl++) {
                    phi[isl] = theta[isl];
                    for (long s = step - h + 1; s <= step; s++) phi[isl] += Scripted.delta(isl, i, s);
                }
                int[] order = Pairing.order(islands, step);
                double[] next = theta.clone();
                for (int p = 0; p < islands; p += 2) {
                    int a = order[p], b = order[p + 1];
                    double meanDelta = (phi[a] - theta[a] + phi[b] - theta[b]) / 2, meanTheta = (theta[a] + theta[b]) / 2;
                    for (int me : new int[] {a, b}) {
                        m[me] = beta * m[me] + alpha * meanDelta + alpha * (meanTheta - theta[me]);
                        next[me] = theta[me] + m[me];
                    }
                }
                theta = next;
            }
            for (int isl = 0; isl < islands; isl++) {
                assertThat((double) finals[isl][i]).as("island %d element %d", isl, i).isCloseTo(theta[isl], Offset.offset(1e-5));
            }
        }
    }

    @Test
    void dilocoIsNesterovOnTheMeanPseudoGradient() {
        int islands = 2, h = 2, outerSteps = 3;
        double lr = 0.7, mu = 0.9;
        OuterSpec spec = spec(OuterSpec.Algorithm.DILOCO, h);
        float[][] finals = new float[islands][N];
        LocalWorld.run(islands, CommOptions.defaults(), g -> {
            Scripted inner = new Scripted(g.rank());
            try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled()); OuterOptimizer opt = new OuterOptimizer(inner, spec, ch)) {
                for (int s = 0; s < h * outerSteps; s++) opt.step(0);
                for (int i = 0; i < N; i++) finals[g.rank()][i] = inner.get(i);
                assertThat(ch.bytesSent()).isEqualTo(N * 4L * outerSteps);
            }
        });
        assertThat(finals[1]).isEqualTo(finals[0]); // the islands agree after an outer step
        for (int i = 0; i < N; i++) {
            // Reference in double: θ, m; each island runs h steps from θ; g = θ − mean(φ); m = μm + g; θ −= lr(g + μm).
            double theta = (float) Math.cos(i), m = 0;
            long step = 0;
            for (int o = 0; o < outerSteps; o++) {
                double sum = 0;
                for (int isl = 0; isl < islands; isl++) {
                    double phi = theta;
                    for (int s = 1; s <= h; s++) phi += Scripted.delta(isl, i, step + s);
                    sum += phi;
                }
                step += h;
                double gr = theta - sum / islands;
                m = mu * m + gr;
                theta -= lr * (gr + mu * m);
            }
            assertThat((double) finals[0][i]).as("element %d", i).isCloseTo(theta, Offset.offset(1e-5));
        }
    }

    @Test
    void dilocoOnOneIslandWithLrOneAndNoMomentumLeavesTheInnerWeightsBitForBit() {
        OuterSpec spec = spec(OuterSpec.Algorithm.DILOCO, 2).withDiLoCo(1, 0);
        LocalWorld.run(1, CommOptions.defaults(), g -> {
            Scripted alone = new Scripted(0), inner = new Scripted(0);
            try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled()); OuterOptimizer opt = new OuterOptimizer(inner, spec, ch)) {
                for (int s = 0; s < 7; s++) {
                    alone.step(0);
                    opt.step(0);
                    for (int i = 0; i < N; i++) assertThat(inner.get(i)).isEqualTo(alone.get(i));
                }
                assertThat(ch.bytesSent()).isZero();
            } finally {
                alone.close();
            }
        });
    }

    @Test
    void theOuterStateIsNamedPerSliceAndLoadsBack() {
        OuterSpec spec = spec(OuterSpec.Algorithm.DILOCO, 2);
        LocalWorld.run(1, CommOptions.defaults(), g -> {
            try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled());
                 OuterOptimizer a = new OuterOptimizer(new Scripted(0), spec, ch);
                 OuterOptimizer b = new OuterOptimizer(new Scripted(0), spec, ch)) {
                for (int s = 0; s < 3; s++) a.step(0);
                assertThat(a.state().keySet()).containsExactly("w.outer_weights", "w.outer_momentum");
                b.load(a.state(), a.steps());
                for (String k : a.state().keySet()) {
                    assertThat(b.state().get(k).data().toArray(ValueLayout.JAVA_FLOAT)).isEqualTo(a.state().get(k).data().toArray(ValueLayout.JAVA_FLOAT));
                }
                assertThat(b.steps()).isEqualTo(3);
            }
        });
    }
}
