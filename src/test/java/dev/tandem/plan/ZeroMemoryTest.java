package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reproduces the ZeRO paper's table of model-state memory per device (reference file, GB = 1e9
 * bytes). Rounding as printed in the paper: values of 100 GB and more are cut to whole GB
 * (4187.5 → 4187, 2218.75 → 2218, 257.75 → 257); smaller values are rounded half-up to three
 * significant digits with at most two decimals (41.25 → 41.3, 1.875 → 1.88, 0.117 → 0.12).
 */
class ZeroMemoryTest {
    private static final int[] DP = {1, 4, 64, 1024};
    private static final double[] PSI = {7.5e9, 128e9, 1e12};
    /** Rows: DP; columns: 7.5B s1 s2 s3, 128B s1 s2 s3, 1T s1 s2 s3 (as printed). */
    private static final String[][] TABLE = {
            {"120", "120", "120", "2048", "2048", "2048", "16000", "16000", "16000"},
            {"52.5", "41.3", "30", "896", "704", "512", "7000", "5500", "4000"},
            {"31.4", "16.6", "1.88", "536", "284", "32", "4187", "2218", "250"},
            {"30.1", "15.1", "0.12", "513", "257", "2", "4011", "2013", "15.6"},
    };

    static String printed(double gb) {
        if (gb >= 100) return BigDecimal.valueOf(gb).setScale(0, RoundingMode.DOWN).toPlainString();
        BigDecimal v = new BigDecimal(gb).round(new java.math.MathContext(3, RoundingMode.HALF_UP));
        if (v.scale() > 2) v = v.setScale(2, RoundingMode.HALF_UP);
        return v.stripTrailingZeros().toPlainString();
    }

    @Test
    void reproducesThePaperTable() {
        for (int row = 0; row < DP.length; row++) {
            for (int model = 0; model < PSI.length; model++) {
                for (int stage = 1; stage <= 3; stage++) {
                    double bytes = ZeroMemory.mixedAdam(PSI[model], DP[row], ZeroStage.of(stage)).total();
                    assertThat(printed(bytes / 1e9))
                            .as("Ψ=%.3g N_d=%d stage %d", PSI[model], DP[row], stage)
                            .isEqualTo(TABLE[row][model * 3 + stage - 1]);
                }
            }
        }
    }

    @Test
    void stagesMatchTheClosedForms() {
        double psi = 3e9;
        int nd = 16;
        assertThat(ZeroMemory.mixedAdam(psi, nd, ZeroStage.ZERO0).total()).isEqualTo(16 * psi);
        assertThat(ZeroMemory.mixedAdam(psi, nd, ZeroStage.ZERO1).total()).isEqualTo(4 * psi + 12 * psi / nd);
        assertThat(ZeroMemory.mixedAdam(psi, nd, ZeroStage.ZERO2).total()).isEqualTo(2 * psi + 14 * psi / nd);
        assertThat(ZeroMemory.mixedAdam(psi, nd, ZeroStage.ZERO3).total()).isEqualTo(16 * psi / nd);
    }

    /** The runtime's float32 AdamW (4 + 4 + 8 bytes) and the paper's mixed precision (2 + 2 + 12) sum alike only unsharded. */
    @Test
    void float32PartsAreCountedAsTheRuntimeHoldsThem() {
        double psi = 1e6;
        OptimizerSpec adamw = OptimizerSpec.ADAMW;
        ZeroMemory.ModelStates z1 = ZeroMemory.perDevice(psi, 0, 2, ZeroStage.ZERO1, TrainingPrecision.FP32, adamw);
        assertThat(List.of(z1.params(), z1.grads(), z1.optimizer())).containsExactly(4 * psi, 4 * psi, 4 * psi);
        ZeroMemory.ModelStates z2 = ZeroMemory.perDevice(psi, 0, 2, ZeroStage.ZERO2, TrainingPrecision.FP32, adamw);
        assertThat(z2.total()).isEqualTo(10 * psi);
        assertThat(ZeroMemory.mixedAdam(psi, 2, ZeroStage.ZERO1).total()).isEqualTo(10 * psi);
        assertThat(ZeroMemory.mixedAdam(psi, 2, ZeroStage.ZERO2).total()).isEqualTo(9 * psi);
        assertThat(ZeroMemory.perDevice(psi, 0, 1, ZeroStage.ZERO0, TrainingPrecision.FP32, adamw).total())
                .isEqualTo(ZeroMemory.mixedAdam(psi, 1, ZeroStage.ZERO0).total());
        // Muon keeps one momentum for the layers' matrices and AdamW's two moments for the rest.
        ZeroMemory.ModelStates muon = ZeroMemory.perDevice(psi, psi, 1, ZeroStage.ZERO0, TrainingPrecision.FP32, OptimizerSpec.named("muon"));
        assertThat(muon.optimizer()).isEqualTo(4 * psi + 8 * psi);
    }
}
