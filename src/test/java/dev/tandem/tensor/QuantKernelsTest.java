package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The packed low-bit weights of PEQA: packing round-trips, quantization error within half a step,
 * and the fast dequantising GEMMs (panels of unpacked rows through the fast GEMM) against the
 * scalar reference that reads every code where it uses it, on 3- and 4-bit data. The matrix is
 * large enough ([1800, 45]) that the fast kernels cut it into two panels, and 45 channels at 3 bits
 * make rows that do not end on a byte.
 */
class QuantKernelsTest {
    private static final int IN = 1800, OUT = 45, ROWS = 5;

    private static Tensor random(SplittableRandom rng, double scale, int... shape) {
        Tensor t = Tensor.zeros(MemoryCategory.OTHER, shape);
        for (long i = 0; i < t.numel(); i++) t.set(i, (float) (rng.nextGaussian() * scale));
        return t;
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 4})
    void codesRoundTripAndApproximateTheWeights(int bits) {
        SplittableRandom rng = new SplittableRandom(bits);
        try (Tensor w = random(rng, 0.02, IN, OUT); Tensor scales = Tensor.zeros(MemoryCategory.OTHER, OUT);
             QuantizedMatrix q = QuantizedMatrix.quantize(w, bits, scales);
             Tensor unpacked = Tensor.zeros(MemoryCategory.OTHER, 7, OUT)) {
            assertThat(q.codes().byteSize()).isEqualTo((long) IN * ((OUT * bits + 7) / 8));
            q.unpackRows(100, 7, scales.data(), unpacked.data());
            for (int r = 0; r < 7; r++) {
                for (int o = 0; o < OUT; o++) {
                    int code = q.code(100 + r, o);
                    assertThat(code).isBetween(0, (1 << bits) - 1);
                    float dq = unpacked.get((long) r * OUT + o);
                    assertThat(dq).isEqualTo(scales.get(o) * (code - q.zero(o)));
                    assertThat((double) dq).isCloseTo(w.get((long) (100 + r) * OUT + o), org.assertj.core.data.Offset.offset(scales.get(o) * 0.5 + 1e-7));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 4})
    void fastDequantisingGemmsMatchTheReference(int bits) {
        SplittableRandom rng = new SplittableRandom(10 + bits);
        QuantKernels fast = TestKernels.FAST.quant(), ref = TestKernels.REFERENCE.quant();
        try (Tensor w = random(rng, 0.02, IN, OUT); Tensor scales = Tensor.zeros(MemoryCategory.OTHER, OUT);
             QuantizedMatrix q = QuantizedMatrix.quantize(w, bits, scales);
             Tensor x = random(rng, 1, ROWS, IN); Tensor dy = random(rng, 1, ROWS, OUT);
             Tensor yFast = Tensor.zeros(MemoryCategory.OTHER, ROWS, OUT); Tensor yRef = Tensor.zeros(MemoryCategory.OTHER, ROWS, OUT);
             Tensor dxFast = random(new SplittableRandom(1), 1, ROWS, IN); Tensor dxRef = random(new SplittableRandom(1), 1, ROWS, IN);
             Tensor dsFast = Tensor.zeros(MemoryCategory.OTHER, OUT); Tensor dsRef = Tensor.zeros(MemoryCategory.OTHER, OUT)) {
            assertThat(PanelQuantKernels.PANEL_FLOATS / OUT).as("two panels at least").isLessThan(IN);
            fast.forward(q, scales.data(), x.data(), yFast.data(), ROWS);
            ref.forward(q, scales.data(), x.data(), yRef.data(), ROWS);
            close(yFast, yRef);
            fast.backwardInput(q, scales.data(), dy.data(), dxFast.data(), ROWS);
            ref.backwardInput(q, scales.data(), dy.data(), dxRef.data(), ROWS);
            close(dxFast, dxRef);
            fast.backwardScale(q, x.data(), dy.data(), dsFast.data(), ROWS);
            ref.backwardScale(q, x.data(), dy.data(), dsRef.data(), ROWS);
            close(dsFast, dsRef);
        }
    }

    /** float32 sums of up to 1800 terms against double ones: 1e-4 relative to the largest value. */
    private static void close(Tensor fast, Tensor ref) {
        float[] f = fast.toFloatArray(), r = ref.toFloatArray();
        double max = 0;
        for (float v : r) max = Math.max(max, Math.abs(v));
        assertThat(max).isGreaterThan(0);
        for (int i = 0; i < r.length; i++) assertThat((double) f[i]).as("[%d]", i).isCloseTo(r[i], org.assertj.core.data.Offset.offset(1e-4 * max));
    }
}
