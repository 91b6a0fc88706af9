package dev.tandem.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.TandemException;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MuonTest {
    /** SPECS: output shape = input; singular values of NS(G) land in about [0.68, 1.14]. */
    @Test
    void newtonSchulzSingularValues() {
        for (int[] shape : new int[][] {{24, 64}, {64, 24}, {32, 32}}) {
            int r = shape[0], c = shape[1];
            try (TestParam g = new TestParam("g", true, r, c).random(r * 31L + c, 1);
                 Tensor out = Tensor.zeros(MemoryCategory.OTHER, r, c)) {
                NewtonSchulz.orthogonalize(g.value.data(), r, c, 5, out.data(), TestKernels.FAST);
                double[] sv = singularValues(out.toFloatArray(), r, c);
                int k = Math.min(r, c);
                // a square Gaussian matrix has singular values near 0 that five steps cannot lift; check the rest
                int from = r == c ? k / 8 : 0;
                for (int i = 0; i < k - from; i++) {
                    assertThat(sv[i]).as("%dx%d singular value %d", r, c, i).isBetween(0.68, 1.14);
                }
            }
        }
    }

    /** Singular values (descending) from the eigenvalues of the small Gram matrix. */
    static double[] singularValues(float[] x, int r, int c) {
        boolean wide = r <= c;
        int k = Math.min(r, c);
        double[] gram = new double[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int l = 0; l < Math.max(r, c); l++) {
                    s += wide ? (double) x[i * c + l] * x[j * c + l] : (double) x[l * c + i] * x[l * c + j];
                }
                gram[i * k + j] = s;
            }
        }
        double[] ev = SymmetricEigen.decompose(gram, k).values();
        double[] sv = new double[k];
        for (int i = 0; i < k; i++) sv[i] = Math.sqrt(Math.max(0, ev[i]));
        return sv;
    }

    /** NS in double, straight from SPECS (for the hand-computed steps). */
    static double[] ns(double[] g, int rows, int cols) {
        boolean tr = rows > cols;
        int r = tr ? cols : rows, c = tr ? rows : cols;
        double[] x = new double[r * c];
        double norm = 0;
        for (double v : g) norm += v * v;
        norm = Math.sqrt(norm) + 1e-7;
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) x[tr ? j * c + i : i * c + j] = g[i * cols + j] / norm;
        for (int s = 0; s < 5; s++) {
            double[] a = new double[r * r], b = new double[r * r], nx = new double[r * c];
            for (int i = 0; i < r; i++) for (int j = 0; j < r; j++) for (int l = 0; l < c; l++) a[i * r + j] += x[i * c + l] * x[j * c + l];
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < r; j++) {
                    double aa = 0;
                    for (int l = 0; l < r; l++) aa += a[i * r + l] * a[l * r + j];
                    b[i * r + j] = -4.7750 * a[i * r + j] + 2.0315 * aa;
                }
            }
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    double bx = 0;
                    for (int l = 0; l < r; l++) bx += b[i * r + l] * x[l * c + j];
                    nx[i * c + j] = 3.4445 * x[i * c + j] + bx;
                }
            }
            x = nx;
        }
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[i * cols + j] = x[tr ? j * c + i : i * c + j];
        return out;
    }

    /**
     * Three Muon steps on a [in=2, out=3] matrix (Nesterov, decay, both lr conventions) against
     * SPECS evaluated in double; its bias goes to AdamW at lr·ratio.
     */
    @Test
    void matchesHandComputedSteps() {
        for (Muon.Scale scale : Muon.Scale.values()) {
            try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 2, 3).random(5, 0.5);
                 TestParam b = new TestParam("h.0.mlp.c_fc.bias", false, 3);
                 Muon opt = new Muon(new Muon.Settings(0.95f, true, 5, scale, 0.5f, 0.1f),
                         new AdamW.Settings(0.9f, 0.95f, 1e-8f, 0.1f), List.of(w.slice, b.slice), ParamGroups.NONE, TestKernels.FAST)) {
                double[] p = w.values(), m = new double[6];
                double lr = 0.02, beta = 0.95, wd = 0.1;
                // rows/cols of the PyTorch [out, in] weight: out = 3, in = 2
                double factor = scale == Muon.Scale.SPECTRAL ? Math.sqrt(Math.max(1, 3.0 / 2)) : 0.2 * Math.sqrt(3);
                double pb = 0, mb = 0, vb = 0;
                for (int t = 1; t <= 3; t++) {
                    w.randomGrad(40 + t, 1);
                    b.grad.fill(0.5f);
                    double[] g = new double[6], u = new double[6];
                    for (int i = 0; i < 6; i++) {
                        g[i] = w.grad.get(i);
                        m[i] = beta * m[i] + (1 - beta) * g[i];
                        u[i] = (1 - beta) * g[i] + beta * m[i];
                    }
                    double[] o = ns(u, 2, 3);
                    for (int i = 0; i < 6; i++) p[i] = p[i] * (1 - lr * wd) - lr * factor * o[i];
                    mb = 0.9 * mb + 0.1 * 0.5;
                    vb = 0.95 * vb + 0.05 * 0.25;
                    pb -= lr * 0.5 * (mb / (1 - Math.pow(0.9, t))) / (Math.sqrt(vb / (1 - Math.pow(0.95, t))) + 1e-8);
                    opt.step((float) lr);
                    for (int i = 0; i < 6; i++) {
                        assertThat((double) w.value.get(i)).as("%s step %d element %d", scale, t, i).isCloseTo(p[i], offset(2e-5));
                    }
                    assertThat((double) b.value.get(0)).as("bias via AdamW").isCloseTo(pb, offset(1e-6));
                }
            }
        }
    }

    @Test
    void onlyHiddenMatricesUseMuon() {
        try (TestParam attn = new TestParam("h.0.attn.c_attn.weight", true, 4, 12);
             TestParam proj = new TestParam("h.0.attn.c_proj.weight", true, 4, 4);
             TestParam wte = new TestParam("wte.weight", false, 10, 4);
             TestParam ln = new TestParam("h.0.ln_1.weight", false, 4);
             Muon opt = (Muon) Optimizers.create("muon", OptimizerSettings.gpt(),
                     List.of(attn.slice, proj.slice, wte.slice, ln.slice), TestKernels.FAST)) {
            Map<String, Tensor> st = opt.state();
            assertThat(st).containsKeys("h.0.attn.c_attn.weight.momentum_buffer", "h.0.attn.c_proj.weight.momentum_buffer",
                    "wte.weight.exp_avg", "h.0.ln_1.weight.exp_avg_sq");
            assertThat(st).doesNotContainKeys("wte.weight.momentum_buffer", "h.0.attn.c_attn.weight.exp_avg");
            assertThat(opt.slices()).hasSize(4);
        }
    }

    /** A ZeRO shard that cuts a hidden matrix is refused with a message that says what to do. */
    @Test
    void rejectsPartialMatrices() {
        try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 4, 16)) {
            ParamSlice half = new ParamSlice(w.slice.name(), w.slice.shape(), true, 32, 32,
                    w.value.data().asSlice(128, 128), w.grad.data().asSlice(128, 128));
            assertThatThrownBy(() -> Optimizers.create("muon", OptimizerSettings.gpt(), List.of(half), TestKernels.FAST))
                    .isInstanceOf(TandemException.class).hasMessageContaining("whole matrices").hasMessageContaining("Optimizers.updatedWhole(\"muon\")");
            assertThatThrownBy(() -> Optimizers.create("soap", OptimizerSettings.gpt(), List.of(half), TestKernels.FAST))
                    .isInstanceOf(TandemException.class).hasMessageContaining("whole matrices");
        }
    }

    @Test
    void matrixAssignmentIsLargestFirstToTheLeastLoadedRank() {
        long[] sizes = {10, 40, 30, 40, 5};
        // sorted: b(40) d(40) c(30) a(10) e(5); loads after each: b→0 (40,0,0), d→1 (40,40,0), c→2 (40,40,30),
        // a→2 (40,40,40), e→0 (45,40,40): the reference's round-robin would end at (50,45,30)
        assertThat(MatrixAssignment.assign(sizes, 3, 0)).containsExactly(2, 0, 2, 1, 0);
        // equal sizes: round-robin from the first rank
        assertThat(MatrixAssignment.assign(new long[] {7, 7, 7, 7}, 3, 1)).containsExactly(1, 2, 0, 1);
        assertThat(MatrixAssignment.assign(sizes, 1, 5)).containsOnly(0);
    }
}
