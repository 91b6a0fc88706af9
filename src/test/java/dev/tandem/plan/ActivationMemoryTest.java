package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The component sums of {@link ActivationMemory} equal Korthikanti et al.'s closed forms
 * (reference file), for shapes of the published runs and a few odd ones.
 */
class ActivationMemoryTest {

    @ParameterizedTest(name = "s={0} b={1} h={2} a={3} t={4}")
    @CsvSource({
            "2048, 16, 2304, 24, 1",
            "2048, 1, 25600, 160, 8",
            "2048, 2, 12288, 96, 8",
            "4096, 3, 4096, 32, 4",
            "512, 7, 768, 12, 2",
    })
    void matchesTheClosedForms(int s, int b, int h, int a, int t) {
        ModelSpec m = ModelSpec.gpt("x", 4, h, a, 51200, s);
        double sbh = (double) s * b * h, as_h = (double) a * s / h;
        double tol = 1e-9 * sbh * 100;

        assertThat(ActivationMemory.perLayer(m, b, 1, false, Recompute.NONE))
                .isCloseTo(sbh * (34 + 5 * as_h), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, false, Recompute.NONE))
                .isCloseTo(sbh * (10 + 24.0 / t + 5 * as_h / t), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, true, Recompute.NONE))
                .isCloseTo(sbh / t * (34 + 5 * as_h), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, false, Recompute.SELECTIVE))
                .isCloseTo(sbh * (10 + 24.0 / t), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, true, Recompute.SELECTIVE))
                .isCloseTo(34 * sbh / t, within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, false, Recompute.FULL))
                .isCloseTo(2 * sbh, within(tol));
    }

    @Test
    void fp8KeepsTheWeightGemmsInputsInOneByte() {
        // s = 256, b = 2, h = 512, f = 1536, flash attention, tp = 2 with sequence parallelism. FP8 keeps the
        // QKV and MLP-up inputs (sbh each) and the MLP-down input (sbf) in 1 byte instead of 2, and adds
        // the 1-byte copy of the projection input (sbh), which stays in 16 bits too: (sbh + sbf)/t less.
        ModelSpec m = ModelSpec.llama("t", 2, 512, 8, 2, 1536, 1000, 256);
        double sbh = 256.0 * 2 * 512, sbf = 256.0 * 2 * 1536;
        double mixed = ActivationMemory.perLayer(m, 2, 2, true, Recompute.NONE, AttentionKernel.FLASH, TrainingPrecision.MIXED);
        double fp8 = ActivationMemory.perLayer(m, 2, 2, true, Recompute.NONE, AttentionKernel.FLASH, TrainingPrecision.FP8);
        assertThat(mixed - fp8).isEqualTo((sbh + sbf) / 2);
        // Full recompute keeps only the 16-bit layer input, whatever the GEMMs run in.
        assertThat(ActivationMemory.perLayer(m, 2, 2, true, Recompute.FULL, AttentionKernel.FLASH, TrainingPrecision.FP8))
                .isEqualTo(2 * sbh / 2);
    }
}
