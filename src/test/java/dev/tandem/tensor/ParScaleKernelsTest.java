package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * ParScale's element-wise ops: the fast kernels against the scalar reference (double
 * accumulation), forward and backward, on sizes with vector tails (C = 37) and enough rows that
 * the pool splits them; backward kernels must add to what the gradients held.
 */
class ParScaleKernelsTest {
    private static final ParScaleKernels FAST = TestKernels.FAST.parScale(), REF = TestKernels.REFERENCE.parScale();
    private static final int N = 300, P = 4, C = 37;

    private static Tensor random(long seed, double scale, int... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(MemoryCategory.OTHER, shape);
        for (long i = 0; i < t.numel(); i++) t.set(i, (float) (rng.nextGaussian() * scale));
        return t;
    }

    private static void assertClose(Tensor fast, Tensor ref, double tol) {
        float[] f = fast.toFloatArray(), r = ref.toFloatArray();
        for (int i = 0; i < r.length; i++) assertThat((double) f[i]).as("element %d", i).isCloseTo(r[i], within(tol * (1 + Math.abs(r[i]))));
    }

    @Test
    void siluForwardAndBackwardMatchTheReference() {
        int n = 3 * (1 << 14) + 5;
        try (Tensor a = random(1, 4, n); Tensor dy = random(2, 1, n); Tensor yF = Tensor.zeros(MemoryCategory.OTHER, n);
             Tensor yR = Tensor.zeros(MemoryCategory.OTHER, n); Tensor daF = random(3, 1, n); Tensor daR = random(3, 1, n)) {
            a.set(0, 0f);
            a.set(1, -90f); // exp overflows: SiLU is 0 there, not NaN
            a.set(2, 90f);
            FAST.silu(a.data(), yF.data(), n);
            REF.silu(a.data(), yR.data(), n);
            assertClose(yF, yR, 1e-6);
            assertThat(yF.get(0)).isZero();
            assertThat(yF.get(2)).isEqualTo(90f);
            FAST.siluBackward(a.data(), dy.data(), daF.data(), n);
            REF.siluBackward(a.data(), dy.data(), daR.data(), n);
            assertClose(daF, daR, 1e-6);
        }
    }

    @Test
    void smoothedWeightsAndTheirGradientMatchTheReference() {
        float eps = 0.01f;
        try (Tensor g = random(4, 2, N, P); Tensor s = Tensor.zeros(MemoryCategory.OTHER, N, P); Tensor wF = Tensor.zeros(MemoryCategory.OTHER, N, P);
             Tensor wR = Tensor.zeros(MemoryCategory.OTHER, N, P); Tensor dw = random(5, 1, N, P);
             Tensor dgF = random(6, 1, N, P); Tensor dgR = random(6, 1, N, P)) {
            TestKernels.REFERENCE.softmaxRows(g.data(), s.data(), N, P);
            FAST.smooth(s.data(), wF.data(), N, P, eps);
            REF.smooth(s.data(), wR.data(), N, P, eps);
            assertClose(wF, wR, 1e-6);
            for (int r = 0; r < N; r++) {
                double sum = 0;
                for (int j = 0; j < P; j++) {
                    assertThat(wF.get((long) r * P + j)).isGreaterThanOrEqualTo(eps / P * (1 - 1e-6f));
                    sum += wF.get((long) r * P + j);
                }
                assertThat(sum).isCloseTo(1, within(1e-6));
            }
            FAST.smoothBackward(s.data(), dw.data(), dgF.data(), N, P, eps);
            REF.smoothBackward(s.data(), dw.data(), dgR.data(), N, P, eps);
            assertClose(dgF, dgR, 1e-5);
        }
    }

    @Test
    void weightedSumOfStreamsAndItsGradientsMatchTheReference() {
        try (Tensor h = random(7, 1, P * N, C); Tensor w = random(8, 1, N, P); Tensor outF = random(9, 1, N, C);
             Tensor outR = Tensor.zeros(MemoryCategory.OTHER, N, C); Tensor dOut = random(10, 1, N, C);
             Tensor dhF = random(11, 1, P * N, C); Tensor dhR = random(11, 1, P * N, C);
             Tensor dwF = random(12, 1, N, P); Tensor dwR = random(12, 1, N, P)) {
            FAST.weightedSum(h.data(), w.data(), outF.data(), N, P, C); // overwrites what outF held
            REF.weightedSum(h.data(), w.data(), outR.data(), N, P, C);
            assertClose(outF, outR, 1e-5);
            FAST.weightedSumBackward(h.data(), w.data(), dOut.data(), dhF.data(), dwF.data(), N, P, C);
            REF.weightedSumBackward(h.data(), w.data(), dOut.data(), dhR.data(), dwR.data(), N, P, C);
            assertClose(dhF, dhR, 1e-5);
            assertClose(dwF, dwR, 1e-5);
        }
    }
}
