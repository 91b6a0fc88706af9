package dev.tandem.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {

    /** Three AdamW steps on one coordinate, against the formula evaluated by hand in double. */
    @Test
    void matchesHandComputedSteps() {
        try (GPT model = GPT.initialized(new GPTConfig(1, 1, 4, 5, 3), 1)) {
            Parameter w = model.param("h.0.attn.c_attn.weight"); // decays
            Parameter b = model.param("h.0.attn.c_attn.bias");   // does not decay
            float w0 = w.value().get(0), b0 = b.value().get(0);
            float[] grads = {0.5f, -0.25f, 1.0f};
            double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8;
            double m = 0, v = 0, pw = w0, pb = b0;
            try (AdamW opt = new AdamW(List.of(w, b), new AdamW.Settings(0.9f, 0.95f, 1e-8f, 0.1f), TestKernels.FAST)) {
                for (int t = 1; t <= 3; t++) {
                    double g = grads[t - 1];
                    w.grad().set(0, (float) g);
                    b.grad().set(0, (float) g);
                    opt.step((float) lr);
                    m = b1 * m + (1 - b1) * g;
                    v = b2 * v + (1 - b2) * g * g;
                    double update = (m / (1 - Math.pow(b1, t))) / (Math.sqrt(v / (1 - Math.pow(b2, t))) + eps);
                    pw = pw * (1 - lr * wd) - lr * update;
                    pb = pb - lr * update;
                    assertThat((double) w.value().get(0)).as("weight after step %d", t).isCloseTo(pw, offset(1e-6));
                    assertThat((double) b.value().get(0)).as("bias after step %d", t).isCloseTo(pb, offset(1e-6));
                }
                assertThat(opt.steps()).isEqualTo(3);
                // First step of Adam moves every coordinate with a non-zero gradient by ≈ lr.
                assertThat(Math.abs(b0 - pb)).isGreaterThan(0);
            }
        }
    }

    @Test
    void decayAppliesToMatricesOnly() {
        try (GPT model = GPT.initialized(new GPTConfig(1, 1, 4, 5, 3), 1)) {
            assertThat(model.param("h.0.mlp.c_fc.weight").decays()).isTrue();
            assertThat(model.param("h.0.mlp.c_fc.bias").decays()).isFalse();
            assertThat(model.param("h.0.ln_1.weight").decays()).isFalse();
            assertThat(model.param("wte.weight").decays()).isFalse();
        }
    }

    @Test
    void schedules() {
        LrSchedule cos = new LrSchedule.WarmupCosine(1f, 0.1f, 10, 110);
        assertThat(cos.at(0)).isEqualTo(0.1f);
        assertThat(cos.at(9)).isEqualTo(1f);
        assertThat(cos.at(60)).isCloseTo(0.55f, offset(1e-6f));
        assertThat(cos.at(110)).isEqualTo(0.1f);
        LrSchedule wsd = new LrSchedule.WarmupStableDecay(1f, 0f, 10, 100, 0.2);
        assertThat(wsd.at(50)).isEqualTo(1f);
        assertThat(wsd.at(79)).isEqualTo(1f);
        assertThat(wsd.at(90)).isCloseTo(0.5f, offset(1e-6f));
        LrSchedule lin = new LrSchedule.WarmupLinear(1f, 0f, 0, 100);
        assertThat(lin.at(50)).isCloseTo(0.5f, offset(1e-6f));
    }

    @Test
    void clippingScalesToMaxNorm() {
        try (GPT model = GPT.initialized(new GPTConfig(1, 1, 4, 5, 3), 1)) {
            List<Parameter> ps = model.parameters();
            for (Parameter p : ps) p.grad().fill(1f);
            double total = ps.stream().mapToLong(Parameter::numel).sum();
            double norm = GradClip.globalNorm(ps, TestKernels.FAST);
            assertThat(norm).isCloseTo(Math.sqrt(total), offset(1e-9));
            GradClip.clip(ps, norm, 1.0, TestKernels.FAST);
            assertThat(GradClip.globalNorm(ps, TestKernels.FAST)).isCloseTo(1.0, offset(1e-5));
        }
    }
}
