package dev.tandem.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoapTest {
    private static Soap soap(List<ParamSlice> slices, float wd) {
        return new Soap(new Soap.Settings(0.95f, 0.95f, 1e-8f, wd, -1f, 10, 10000), slices, ParamGroups.NONE, TestKernels.FAST);
    }

    @Test
    void firstStepOnlyInitializes() {
        try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 6, 8).random(1, 0.1);
             TestParam b = new TestParam("h.0.mlp.c_fc.bias", false, 8).random(2, 0.1);
             Soap opt = soap(List.of(w.slice, b.slice), 0.01f)) {
            double[] w0 = w.values(), b0 = b.values();
            w.randomGrad(3, 1);
            b.randomGrad(4, 1);
            opt.step(3e-3f);
            assertThat(w.values()).containsExactly(w0);
            assertThat(b.values()).containsExactly(b0);
            assertThat(opt.state().get("h.0.mlp.c_fc.weight.GG0").get(0)).isPositive();
            assertOrthogonal(opt.basis("h.0.mlp.c_fc.weight", 0), 6);
            opt.step(3e-3f);
            assertThat(w.values()).isNotEqualTo(w0);
        }
    }

    /** SPECS: a 1-D parameter behaves as AdamW delayed by one step. */
    @Test
    void oneDimensionalParameterIsAdamWOneStepLate() {
        try (TestParam s = new TestParam("h.0.ln_1.weight", false, 16).random(1, 1);
             TestParam a = new TestParam("h.0.ln_1.weight", false, 16).random(1, 1);
             Soap opt = soap(List.of(s.slice), 0f);
             AdamW adam = new AdamW(new AdamW.Settings(0.95f, 0.95f, 1e-8f, 0f), List.of(a.slice), TestKernels.FAST)) {
            s.randomGrad(100, 1);
            opt.step(1e-2f);
            for (int t = 1; t <= 12; t++) {
                s.randomGrad(100 + t, 1);
                a.randomGrad(100 + t, 1);
                opt.step(1e-2f);
                adam.step(1e-2f);
                double[] x = s.values(), y = a.values();
                for (int i = 0; i < x.length; i++) assertThat(x[i]).as("step %d element %d", t, i).isCloseTo(y[i], offset(1e-6));
            }
        }
    }

    /**
     * The second step by hand: Adam's first update in the basis of the first gradient's
     * preconditioners, p ← p − lr·√(1−β2)/(1−β1)·Q0·(m/(√v+ε))·Q1ᵀ, then decay p ← p − lr·wd·p.
     */
    @Test
    void secondStepIsAdamInTheEigenbasis() {
        int r = 3, c = 4;
        try (TestParam w = new TestParam("h.0.attn.c_proj.weight", true, r, c).random(1, 0.1);
             Soap opt = soap(List.of(w.slice), 0.01f)) {
            w.randomGrad(7, 1);
            opt.step(3e-3f);
            float[] q0 = opt.basis(w.slice.name(), 0).toFloatArray(), q1 = opt.basis(w.slice.name(), 1).toFloatArray();
            double[] p = w.values();
            w.randomGrad(8, 1);
            float[] g = w.grad.toFloatArray();
            opt.step(3e-3f);
            double[] gp = new double[r * c]; // Q0ᵀ·G·Q1
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    double s = 0;
                    for (int k = 0; k < r; k++) for (int l = 0; l < c; l++) s += q0[k * r + i] * g[k * c + l] * q1[l * c + j];
                    gp[i * c + j] = s;
                }
            }
            double[] n = new double[r * c];
            for (int i = 0; i < r * c; i++) {
                double m = 0.05 * gp[i], v = 0.05 * gp[i] * gp[i];
                n[i] = m / (Math.sqrt(v) + 1e-8);
            }
            double lr = 3e-3, step = lr * Math.sqrt(1 - 0.95) / (1 - 0.95);
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    double back = 0; // Q0·N·Q1ᵀ
                    for (int k = 0; k < r; k++) for (int l = 0; l < c; l++) back += q0[i * r + k] * n[k * c + l] * q1[j * c + l];
                    double expect = p[i * c + j] - step * back;
                    expect -= lr * 0.01 * expect;
                    assertThat((double) w.value.get(i * c + j)).as("element %d,%d", i, j).isCloseTo(expect, offset(1e-6));
                }
            }
        }
    }

    /** Q stays orthogonal through the QR refreshes (steps 11, 21, 31), and training still moves. */
    @Test
    void basesStayOrthogonal() {
        try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 8, 12).random(1, 0.1);
             Soap opt = soap(List.of(w.slice), 0.01f)) {
            for (int t = 0; t < 32; t++) {
                w.randomGrad(50 + t, 1);
                opt.step(3e-3f);
            }
            assertOrthogonal(opt.basis(w.slice.name(), 0), 8);
            assertOrthogonal(opt.basis(w.slice.name(), 1), 12);
        }
    }

    static void assertOrthogonal(Tensor q, int n) {
        float[] a = q.toFloatArray();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += (double) a[k * n + i] * a[k * n + j];
                assertThat(s).as("QᵀQ[%d,%d]", i, j).isCloseTo(i == j ? 1 : 0, offset(1e-5));
            }
        }
    }

    @Test
    void eigensolverAndQr() {
        int n = 12;
        SplittableRandom rng = new SplittableRandom(3);
        double[] b = new double[n * n];
        for (int i = 0; i < b.length; i++) b[i] = rng.nextGaussian();
        double[] a = new double[n * n]; // a = b·bᵀ, rank-deficient copy in the last rows
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < 4; k++) a[i * n + j] += b[i * n + k] * b[j * n + k];
        SymmetricEigen.Result e = SymmetricEigen.decompose(a, n);
        for (int j = 0; j < n; j++) {
            if (j > 0) assertThat(e.values()[j]).isLessThanOrEqualTo(e.values()[j - 1]);
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int k = 0; k < n; k++) av += a[i * n + k] * e.vectors()[k * n + j];
                assertThat(av).isCloseTo(e.values()[j] * e.vectors()[i * n + j], offset(1e-9));
            }
        }
        double[] q = HouseholderQr.q(a, n); // rank 4: Q must still be orthogonal
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += q[k * n + i] * q[k * n + j];
                assertThat(s).isCloseTo(i == j ? 1 : 0, offset(1e-12));
            }
        }
        // the first column spans the first column of a
        double dot = 0, na = 0;
        for (int k = 0; k < n; k++) {
            dot += q[k * n] * a[k * n];
            na += a[k * n] * a[k * n];
        }
        assertThat(Math.abs(dot)).isCloseTo(Math.sqrt(na), offset(1e-9));
    }
}
