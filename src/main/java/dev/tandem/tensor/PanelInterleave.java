package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packs four rows of A into a GEMM panel (four floats per k step, one from each row) with
 * vector shuffles instead of one scalar store per float: 16 k steps of the four rows are four
 * vector loads, two rounds of two-vector shuffles and four stores. A is packed once per product,
 * so this matters where the product is narrow (the default model's 192-wide layers): there the
 * packing is m·k stores against 2·m·192·k flops. Only for 16-float vectors and four-row panels;
 * {@link Gemm} packs other shapes with scalar stores.
 */
final class PanelInterleave {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Whether {@link #rows} applies: 16-float vectors and four-row panels. */
    static final boolean SUPPORTED = S.length() == 16 && GemmKernel.MR == 4;
    /*
     * Round 1 pairs rows 0 and 1 (and 2 and 3): lane 2q + r (+ 8 for the second k group) takes
     * row r's k step 4j + q, j = 0, 1 for LOW and 2, 3 for HIGH. Round 2 joins a pair of rows 0/1
     * with the pair of rows 2/3: lane 4q + r takes lane 2q + r of the first (r < 2) or lane
     * 2q + r − 2 of the second, from the first k group (FIRST) or the second (SECOND). An index
     * of 16 or more picks from the second vector.
     */
    private static final VectorShuffle<Float> LOW = pairs(0), HIGH = pairs(8);
    private static final VectorShuffle<Float> FIRST = join(0), SECOND = join(8);

    private PanelInterleave() {}

    private static VectorShuffle<Float> pairs(int from) {
        int[] idx = new int[16];
        for (int j = 0; j < 2; j++) {
            for (int q = 0; q < 4; q++) {
                idx[8 * j + 2 * q] = from + 4 * j + q;           // row 0 (or 2): this vector
                idx[8 * j + 2 * q + 1] = 16 + from + 4 * j + q;  // row 1 (or 3): the other
            }
        }
        return VectorShuffle.fromArray(S, idx, 0);
    }

    private static VectorShuffle<Float> join(int from) {
        int[] idx = new int[16];
        for (int q = 0; q < 4; q++) {
            for (int r = 0; r < 4; r++) idx[4 * q + r] = r < 2 ? from + 2 * q + r : 16 + from + 2 * q + r - 2;
        }
        return VectorShuffle.fromArray(S, idx, 0);
    }

    /**
     * Writes {@code pa[base + 4p + r] = A[row r][p]} for r < 4 and p below the largest multiple
     * of 16 not above {@code kc}; row r starts at byte {@code start + r·pitch} of {@code a}.
     * Returns how many k steps it wrote.
     */
    static int rows(MemorySegment a, long start, long pitch, int kc, float[] pa, int base) {
        int p = 0;
        for (; p + 16 <= kc; p += 16) {
            long at = start + 4L * p;
            FloatVector r0 = FloatVector.fromMemorySegment(S, a, at, NATIVE);
            FloatVector r1 = FloatVector.fromMemorySegment(S, a, at + pitch, NATIVE);
            FloatVector r2 = FloatVector.fromMemorySegment(S, a, at + 2 * pitch, NATIVE);
            FloatVector r3 = FloatVector.fromMemorySegment(S, a, at + 3 * pitch, NATIVE);
            FloatVector upperLow = r0.rearrange(LOW, r1), upperHigh = r0.rearrange(HIGH, r1);
            FloatVector lowerLow = r2.rearrange(LOW, r3), lowerHigh = r2.rearrange(HIGH, r3);
            int d = base + 4 * p;
            upperLow.rearrange(FIRST, lowerLow).intoArray(pa, d);
            upperLow.rearrange(SECOND, lowerLow).intoArray(pa, d + 16);
            upperHigh.rearrange(FIRST, lowerHigh).intoArray(pa, d + 32);
            upperHigh.rearrange(SECOND, lowerHigh).intoArray(pa, d + 48);
        }
        return p;
    }
}
