package dev.tandem.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.tensor.TestKernels;
import java.util.List;
import org.junit.jupiter.api.Test;

class SgdLionTest {
    private static final float[] G = {0.5f, -0.25f, 1.0f, 0f};

    /** Three SGD steps (momentum, Nesterov, coupled L2 decay) against the formula in double. */
    @Test
    void sgdMatchesHandComputedSteps() {
        for (boolean nesterov : new boolean[] {false, true}) {
            try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 1, 1);
                 Sgd opt = new Sgd(new Sgd.Settings(0.9f, nesterov, 0.1f), List.of(w.slice), ParamGroups.NONE, TestKernels.FAST)) {
                w.value.set(0, 0.3f);
                double p = 0.3, b = 0, lr = 0.05, mu = 0.9, wd = 0.1;
                for (int t = 0; t < 3; t++) {
                    w.grad.set(0, G[t]);
                    opt.step((float) lr);
                    double g = G[t] + wd * p;
                    b = mu * b + g;
                    p -= lr * (nesterov ? g + mu * b : b);
                    assertThat((double) w.value.get(0)).as("nesterov %s step %d", nesterov, t).isCloseTo(p, offset(1e-6));
                }
            }
        }
    }

    /** Lion with decay: p·(1 − lr·wd) − lr·sign(β1·m + (1−β1)·g), then m ← β2·m + (1−β2)·g. */
    @Test
    void lionMatchesHandComputedSteps() {
        try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 1, 1);
             Lion opt = new Lion(new Lion.Settings(0.9f, 0.99f, 1f), List.of(w.slice), ParamGroups.NONE, TestKernels.FAST)) {
            w.value.set(0, 0.3f);
            double p = 0.3, m = 0, lr = 0.01, wd = 1;
            // g = 0.5, −0.25: c = 0.05 then 0.9·0.005 − 0.025 < 0 — the sign flips on the new gradient,
            // and only because β2 (not β1) kept m small; step 4 has g = 0 and c = 0.9·m.
            float[] gs = {0.5f, -0.25f, 1.0f, 0f};
            for (int t = 0; t < 4; t++) {
                w.grad.set(0, gs[t]);
                opt.step((float) lr);
                double c = 0.9 * m + 0.1 * gs[t];
                p = p * (1 - lr * wd) - lr * Math.signum(c);
                m = 0.99 * m + 0.01 * gs[t];
                assertThat((double) w.value.get(0)).as("step %d", t).isCloseTo(p, offset(1e-6));
            }
            assertThat(opt.state().get("h.0.mlp.c_fc.weight.exp_avg").get(0)).isCloseTo((float) m, offset(1e-7f));
        }
    }

    /** SPECS: with wd = 0 every coordinate moves by exactly lr or 0. */
    @Test
    void lionStepMagnitudeIsLrOrZero() {
        try (TestParam w = new TestParam("h.0.mlp.c_fc.weight", true, 8, 16).random(1, 0.02);
             Lion opt = new Lion(new Lion.Settings(0.9f, 0.99f, 0f), List.of(w.slice), ParamGroups.NONE, TestKernels.FAST)) {
            float lr = 1f / 1024; // a power of two: p ± lr is exact for |p| in the test's range
            for (int step = 0; step < 5; step++) {
                w.randomGrad(10 + step, 1);
                if (step == 2) w.grad.set(3, 0f); // c ≠ 0 still (momentum), so it moves
                double[] before = w.values();
                opt.step(lr);
                double[] after = w.values();
                for (int i = 0; i < before.length; i++) {
                    double d = Math.abs(after[i] - before[i]);
                    assertThat(d == 0 || Math.abs(d - lr) <= Math.ulp((float) Math.max(Math.abs(before[i]), Math.abs(after[i]))))
                            .as("step %d coordinate %d moved %s", step, i, d).isTrue();
                }
            }
        }
        try (TestParam z = new TestParam("x", false, 4);
             Lion opt = new Lion(new Lion.Settings(0.9f, 0.99f, 0f), List.of(z.slice), ParamGroups.NONE, TestKernels.FAST)) {
            opt.step(0.1f); // zero gradient, zero momentum: sign(0) = 0, nothing moves
            assertThat(z.values()).containsOnly(0.0);
        }
    }
}
