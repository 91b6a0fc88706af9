package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The MoE op: its output against a direct double-precision computation of Σ gate·expert(x), and
 * its backward (experts, router, input, with the load-balancing and z-loss terms) against central
 * finite differences of {@code L = Σ w·y + aux_coef·aux + z_coef·z}. Routing is piecewise constant,
 * so the step h = 2e-3 is small enough that no sampled coordinate changes a choice for these seeds;
 * float32 rounding then gives about 1e-7/h = 5e-5, hence 5e-3 relative plus 5e-4 absolute.
 */
class MoELayerTest {
    private static final int N = 6, C = 8, E = 4;
    private static final float H = 2e-3f;
    private static final double REL = 5e-3, ABS = 5e-4;

    @AfterEach
    void nothingLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.PARAMETERS)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.GRADIENTS)).isZero();
    }

    private record Layer(Parameter x, Parameter router, List<ExpertWeights> experts) implements AutoCloseable {
        static Layer random(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            List<ExpertWeights> experts = new ArrayList<>();
            for (int e = 0; e < E; e++) {
                experts.add(new ExpertWeights(leaf("e" + e + ".fc.w", rng, 0.4, C, 4 * C), leaf("e" + e + ".fc.b", rng, 0.4, 4 * C),
                        leaf("e" + e + ".proj.w", rng, 0.2, 4 * C, C), leaf("e" + e + ".proj.b", rng, 0.4, C)));
            }
            return new Layer(leaf("x", rng, 1, N, C), leaf("router", rng, 1, C, E), experts);
        }

        List<Parameter> all() {
            List<Parameter> all = new ArrayList<>(List.of(x, router));
            experts.forEach(w -> all.addAll(w.all()));
            return all;
        }

        @Override
        public void close() {
            all().forEach(Parameter::close);
        }
    }

    private static Parameter leaf(String name, SplittableRandom rng, double scale, int... shape) {
        Parameter p = new Parameter(name, Tensor.zeros(MemoryCategory.PARAMETERS, shape));
        for (long i = 0; i < p.value().numel(); i++) p.value().set(i, (float) ((rng.nextDouble() * 2 - 1) * scale));
        return p;
    }

    private static MoEConfig cfg(int k, double capacityFactor) {
        return new MoEConfig(E, k, capacityFactor, false, 1, 0.5, 0.3);
    }

    @Test
    void outputIsTheGateWeightedSumOfTheChosenExpertsAndZeroForDroppedAssignments() {
        for (int k = 1; k <= 2; k++) {
            try (Layer l = Layer.random(10 + k); Tape tape = Tape.inference()) {
                List<Routing> seen = new ArrayList<>();
                MoEConfig cfg = cfg(k, 0.5);
                Var y = new Ops(tape, TestKernels.FAST).withRouterLog((layer, r) -> seen.add(r)).moe(l.x, l.router, l.experts, cfg, 0);
                Routing r = seen.getFirst();
                assertThat(r.dropped()).as("capacity 0.75 drops some assignments").isPositive();
                float[] x = l.x.value().toFloatArray();
                for (int t = 0; t < N; t++) {
                    double[] expected = new double[C];
                    for (int j = 0; j < k; j++) {
                        int a = t * k + j;
                        if (r.row()[a] < 0) continue;
                        double[] out = mlp(l.experts.get(r.expert()[a]), x, t);
                        for (int i = 0; i < C; i++) expected[i] += r.gate()[a] * out[i];
                    }
                    for (int i = 0; i < C; i++) assertThat((double) y.value().get(t * C + i)).isCloseTo(expected[i], offset(1e-5));
                }
            }
        }
    }

    private static double[] mlp(ExpertWeights w, float[] x, int t) {
        int f = 4 * C;
        double[] h = new double[f];
        for (int o = 0; o < f; o++) {
            double s = w.fcBias().value().get(o);
            for (int i = 0; i < C; i++) s += x[t * C + i] * w.fcWeight().value().get((long) i * f + o);
            h[o] = 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s * s * s)));
        }
        double[] out = new double[C];
        for (int o = 0; o < C; o++) {
            double s = w.projBias().value().get(o);
            for (int i = 0; i < f; i++) s += h[i] * w.projWeight().value().get((long) i * C + o);
            out[o] = s;
        }
        return out;
    }

    @Test
    void gradientsOfExpertsRouterAndInputMatchFiniteDifferencesTop1WithDrops() {
        gradientCheck(1, 0.5, 21);
    }

    @Test
    void gradientsOfExpertsRouterAndInputMatchFiniteDifferencesTop2() {
        gradientCheck(2, 1.0, 22);
    }

    private static void gradientCheck(int k, double capacityFactor, long seed) {
        MoEConfig cfg = cfg(k, capacityFactor);
        try (Layer l = Layer.random(seed)) {
            float[] w = new float[N * C];
            SplittableRandom rng = new SplittableRandom(seed * 7);
            for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextDouble() * 2 - 1);
            try (Tape tape = new Tape(Hooks.NONE)) {
                Var y = new Ops(tape, TestKernels.FAST).moe(l.x, l.router, l.experts, cfg, 0);
                y.grad().copyFrom(w);
                tape.backward();
            }
            for (Parameter p : l.all()) {
                float[] analytic = p.grad().toFloatArray();
                for (int s = 0; s < 6; s++) {
                    int i = rng.nextInt(analytic.length);
                    float orig = p.value().get(i);
                    p.value().set(i, orig + H);
                    double plus = objective(l, cfg, w);
                    p.value().set(i, orig - H);
                    double minus = objective(l, cfg, w);
                    p.value().set(i, orig);
                    double numeric = (plus - minus) / (2 * H);
                    assertThat((double) analytic[i]).as("%s[%d] (top-%d)", p.name(), i, k)
                            .isCloseTo(numeric, offset(ABS + REL * Math.abs(numeric)));
                }
            }
        }
    }

    private static double objective(Layer l, MoEConfig cfg, float[] w) {
        try (Tape tape = Tape.inference()) {
            double[] router = new double[1];
            Var y = new Ops(tape, TestKernels.FAST)
                    .withRouterLog((layer, r) -> router[0] = cfg.auxLossCoef() * r.auxLoss() + cfg.zLossCoef() * r.zLoss())
                    .moe(l.x, l.router, l.experts, cfg, 0);
            double sum = router[0];
            for (int i = 0; i < w.length; i++) sum += (double) w[i] * y.value().get(i);
            return sum;
        }
    }
}
