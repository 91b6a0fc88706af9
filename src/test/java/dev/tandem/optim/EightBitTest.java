package dev.tandem.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EightBitTest {
    private static final AdamW.Settings ADAM = new AdamW.Settings(0.9f, 0.95f, 1e-8f, 0.1f);

    @Test
    void dynamicMapsHaveTheSpecifiedShapeAndRange() {
        for (QuantMap map : List.of(QuantMap.SIGNED, QuantMap.UNSIGNED)) {
            float[] c = map.codes();
            assertThat(c).hasSize(256);
            for (int i = 1; i < 256; i++) assertThat(c[i]).as("sorted at %d", i).isGreaterThan(c[i - 1]);
            assertThat(c[255]).isEqualTo(1f);
        }
        float[] s = QuantMap.SIGNED.codes(), u = QuantMap.UNSIGNED.codes();
        assertThat(s[0]).isCloseTo(-0.99297f, offset(1e-5f));
        assertThat(u[0]).isEqualTo(0f);
        assertThat(smallestNonZero(s)).isCloseTo(5.5e-7f, offset(1e-9f));
        assertThat(smallestNonZero(u)).isCloseTo(3.25e-7f, offset(1e-9f));
        assertThat(QuantMap.SIGNED.code(QuantMap.SIGNED.quantize(0f))).isZero();
    }

    private static float smallestNonZero(float[] c) {
        float best = Float.MAX_VALUE;
        for (float x : c) if (x != 0) best = Math.min(best, Math.abs(x));
        return best;
    }

    /** Nearest code, except that m never changes sign: a tiny negative value gets the smallest negative code. */
    @Test
    void quantizationIsNearestWithSignFix() {
        QuantMap s = QuantMap.SIGNED;
        float[] c = s.codes();
        for (int i = 0; i < 256; i++) assertThat(s.quantize(c[i])).isEqualTo(i);
        assertThat(s.code(s.quantize(0.5f * (c[200] + c[201]) + 1e-6f))).isEqualTo(c[201]);
        assertThat(s.code(s.quantize(-1e-9f))).isLessThan(0f);
        assertThat(s.code(s.quantize(1e-9f))).isGreaterThanOrEqualTo(0f);
        assertThat(QuantMap.UNSIGNED.code(QuantMap.UNSIGNED.quantize(1e-9f))).isZero();
    }

    /** 4095 elements keep float32 state; 4096 get uint8 codes with one absmax per 256-element block. */
    @Test
    void smallTensorsKeepFloat32State() {
        try (TestParam small = new TestParam("a", true, 4095); TestParam big = new TestParam("b", true, 4096);
             AdamW8bit opt = new AdamW8bit(ADAM, List.of(small.slice, big.slice), ParamGroups.NONE, false, TestKernels.FAST)) {
            Map<String, Tensor> st = opt.state();
            assertThat(st.get("a.exp_avg").dtype()).isEqualTo(DType.F32);
            assertThat(st.get("a.exp_avg_sq").dtype()).isEqualTo(DType.F32);
            assertThat(st).doesNotContainKey("a.exp_avg.absmax");
            assertThat(st.get("b.exp_avg").dtype()).isEqualTo(DType.U8);
            assertThat(st.get("b.exp_avg_sq").dtype()).isEqualTo(DType.U8);
            assertThat(st.get("b.exp_avg.absmax").numel()).isEqualTo(16);
            assertThat(st.get("b.exp_avg_sq.absmax").numel()).isEqualTo(16);
        }
    }

    /** State bytes ≈ 2n + 8n/256 for 8-bit vs 8n for float32, counted by the memory accounting. */
    @Test
    void stateBytes() {
        int n = 1 << 16;
        try (TestParam p = new TestParam("h.0.mlp.c_fc.weight", true, 256, 256)) {
            long base = MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE);
            long eight, full;
            try (AdamW8bit opt = new AdamW8bit(ADAM, List.of(p.slice), ParamGroups.NONE, false, TestKernels.FAST)) {
                eight = MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE) - base;
            }
            try (AdamW opt = new AdamW(ADAM, List.of(p.slice), TestKernels.FAST)) {
                full = MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE) - base;
            }
            assertThat(eight).isEqualTo(2L * n + 8L * n / 256);
            assertThat(full).isEqualTo(8L * n);
            try (Lion8bit opt = new Lion8bit(new Lion.Settings(0.9f, 0.99f, 0f), List.of(p.slice), ParamGroups.NONE, false, TestKernels.FAST)) {
                assertThat(MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE) - base).isEqualTo(n + 4L * n / 256);
            }
        }
    }

    /**
     * One step by hand: the parameter moves exactly as float32 AdamW (the update uses m and v
     * before they are re-quantized), and the stored state is each value's nearest code × block absmax.
     */
    @Test
    void firstStepMatchesHandComputation() {
        try (TestParam p = new TestParam("h.0.mlp.c_fc.weight", true, 64, 64).random(1, 0.02);
             TestParam q = new TestParam("h.0.mlp.c_fc.weight", true, 64, 64).random(1, 0.02);
             AdamW8bit eight = new AdamW8bit(ADAM, List.of(p.slice), ParamGroups.NONE, false, TestKernels.FAST);
             AdamW full = new AdamW(ADAM, List.of(q.slice), TestKernels.FAST)) {
            p.randomGrad(2, 1);
            q.randomGrad(2, 1);
            eight.step(1e-3f);
            full.step(1e-3f);
            for (int i = 0; i < 4096; i++) {
                assertThat(p.value.get(i)).as("parameter %d", i).isCloseTo(q.value.get(i), offset(1e-9f));
            }
            Tensor codes = eight.state().get("h.0.mlp.c_fc.weight.exp_avg");
            Tensor absmax = eight.state().get("h.0.mlp.c_fc.weight.exp_avg.absmax");
            for (int block = 0; block < 16; block++) {
                float amax = 0;
                for (int i = 0; i < 256; i++) amax = Math.max(amax, Math.abs((1 - 0.9f) * p.grad.get(block * 256 + i)));
                assertThat(absmax.get(block)).isEqualTo(amax);
                for (int i = 0; i < 256; i++) {
                    int e = block * 256 + i;
                    float m = (1 - 0.9f) * p.grad.get(e); // β1·0 + (1−β1)·g in float
                    assertThat((int) codes.get(e)).isEqualTo(QuantMap.SIGNED.quantize(m * (1f / amax)));
                }
            }
        }
    }

    /** Over many steps 8-bit AdamW stays close to float32 AdamW. */
    @Test
    void tracksFloat32AdamW() {
        try (TestParam p = new TestParam("h.0.mlp.c_fc.weight", true, 64, 128).random(1, 0.02);
             TestParam q = new TestParam("h.0.mlp.c_fc.weight", true, 64, 128).random(1, 0.02);
             AdamW8bit eight = new AdamW8bit(ADAM, List.of(p.slice), ParamGroups.NONE, false, TestKernels.FAST);
             AdamW full = new AdamW(ADAM, List.of(q.slice), TestKernels.FAST)) {
            double[] start = q.values();
            for (int step = 0; step < 20; step++) {
                p.randomGrad(100 + step, 1);
                q.randomGrad(100 + step, 1);
                eight.step(1e-3f);
                full.step(1e-3f);
            }
            double[] a = p.values(), b = q.values();
            double diff = 0, moved = 0;
            for (int i = 0; i < a.length; i++) {
                diff += (a[i] - b[i]) * (a[i] - b[i]);
                moved += (b[i] - start[i]) * (b[i] - start[i]);
            }
            assertThat(Math.sqrt(diff / moved)).as("relative distance of the two trajectories").isLessThan(0.05);
        }
    }

    /** A non-finite gradient element zeroes its m and v and leaves its parameter unchanged. */
    @Test
    void nonFiniteGradientsAreSkipped() {
        for (boolean eightBitState : new boolean[] {true, false}) {
            int n = eightBitState ? 4096 : 16;
            try (TestParam p = new TestParam("w", true, n).random(1, 0.02);
                 AdamW8bit opt = new AdamW8bit(ADAM, List.of(p.slice), ParamGroups.NONE, false, TestKernels.FAST);
                 TestParam l = new TestParam("w", true, n).random(1, 0.02);
                 Lion8bit lion = new Lion8bit(new Lion.Settings(0.9f, 0.99f, 0.1f), List.of(l.slice), ParamGroups.NONE, false, TestKernels.FAST)) {
                p.grad.fill(1f);
                l.grad.fill(1f);
                opt.step(1e-3f);
                lion.step(1e-3f);
                p.grad.set(5, Float.NaN);
                p.grad.set(6, Float.POSITIVE_INFINITY);
                l.grad.set(5, Float.NEGATIVE_INFINITY);
                float p5 = p.value.get(5), p6 = p.value.get(6), l5 = l.value.get(5);
                opt.step(1e-3f);
                lion.step(1e-3f);
                assertThat(p.value.get(5)).isEqualTo(p5);
                assertThat(p.value.get(6)).isEqualTo(p6);
                assertThat(l.value.get(5)).isEqualTo(l5);
                assertThat(decoded(opt.state(), "w.exp_avg", 5)).isZero();
                assertThat(decoded(opt.state(), "w.exp_avg_sq", 6)).isZero();
                assertThat(decoded(lion.state(), "w.exp_avg", 5)).isZero();
                assertThat(decoded(opt.state(), "w.exp_avg", 7)).isPositive();
            }
        }
    }

    private static float decoded(Map<String, Tensor> st, String key, int i) {
        Tensor t = st.get(key);
        if (t.dtype() == DType.F32) return t.get(i);
        QuantMap map = key.endsWith("exp_avg_sq") ? QuantMap.UNSIGNED : QuantMap.SIGNED;
        return map.code((int) t.get(i)) * st.get(key + ".absmax").get(i / 256);
    }

    /** The stable-embedding option keeps 32-bit state for wte/wpe however large they are. */
    @Test
    void stableEmbeddingKeepsFloat32State() {
        try (TestParam wte = new TestParam("wte.weight", false, 128, 64);
             TestParam fc = new TestParam("h.0.mlp.c_fc.weight", true, 64, 256);
             AdamW8bit opt = new AdamW8bit(ADAM, List.of(wte.slice, fc.slice), ParamGroups.NONE, true, TestKernels.FAST);
             AdamW8bit plain = new AdamW8bit(ADAM, List.of(wte.slice, fc.slice), ParamGroups.NONE, false, TestKernels.FAST)) {
            assertThat(opt.state().get("wte.weight.exp_avg").dtype()).isEqualTo(DType.F32);
            assertThat(opt.state().get("h.0.mlp.c_fc.weight.exp_avg").dtype()).isEqualTo(DType.U8);
            assertThat(plain.state().get("wte.weight.exp_avg").dtype()).isEqualTo(DType.U8);
        }
    }
}
