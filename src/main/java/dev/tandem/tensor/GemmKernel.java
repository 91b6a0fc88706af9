package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM micro-kernel: an 12×2-vector tile of C (12×32 floats with 512-bit vectors) held in
 * 24 accumulator registers while it walks the packed panels of A and B along k.
 *
 * <p>Why this shape: AVX-512 has 32 vector registers; 24 accumulators + 2 B vectors + 1
 * broadcast of A fit without spilling. Each k step does 2 vector loads of B and 12 scalar
 * broadcasts of A for 24 FMAs, so the load ports stay below the FMA rate.
 * Zen 4 issues one 512-bit FMA per cycle with 4-cycle latency, so 24 independent chains hide
 * the latency many times over.
 *
 * <p>Written out by hand (no arrays of vectors, no lambdas): C2 keeps every accumulator in a
 * register only when each is a separate local of one static method. The code is regular; it
 * was produced by unrolling this pattern, rows {@code r} × vectors {@code a..}.
 */
final class GemmKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows of the C tile. */
    static final int MR = 12;
    /** Columns of the C tile: 2 vectors. */
    static final int NR = 2 * L;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private GemmKernel() {}

    /**
     * Computes the MR×NR tile {@code alpha·Apanel·Bpanel} over {@code kc} steps. Packed A holds
     * MR floats per k step (from {@code ai}), packed B holds NR floats per k step (from
     * {@code bi}). When {@code tile} is null the result goes straight into C (byte offset
     * {@code cb}, row pitch {@code ldcb} bytes) as {@code result + beta·C} (beta 0: overwrite);
     * otherwise {@code alpha·result} is written row-major into {@code tile} for edge handling.
     */
    static void tile(int kc, float[] pa, int ai, float[] pb, int bi,
                     MemorySegment c, long cb, long ldcb, float alpha, float beta, float[] tile) {
        FloatVector c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b, c6a, c6b, c7a, c7b, c8a, c8b, c9a, c9b, c10a, c10b, c11a, c11b;
        c0a = c0b = c1a = c1b = c2a = c2b = c3a = c3b = c4a = c4b = c5a = c5b = c6a = c6b = c7a = c7b = c8a = c8b = c9a = c9b = c10a = c10b = c11a = c11b = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * NR, ao = ai + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, pb, bo);
            FloatVector b1 = FloatVector.fromArray(S, pb, bo + 1 * L);
            FloatVector x;
            x = FloatVector.broadcast(S, pa[ao + 0]);
            c0a = x.fma(b0, c0a);
            c0b = x.fma(b1, c0b);
            x = FloatVector.broadcast(S, pa[ao + 1]);
            c1a = x.fma(b0, c1a);
            c1b = x.fma(b1, c1b);
            x = FloatVector.broadcast(S, pa[ao + 2]);
            c2a = x.fma(b0, c2a);
            c2b = x.fma(b1, c2b);
            x = FloatVector.broadcast(S, pa[ao + 3]);
            c3a = x.fma(b0, c3a);
            c3b = x.fma(b1, c3b);
            x = FloatVector.broadcast(S, pa[ao + 4]);
            c4a = x.fma(b0, c4a);
            c4b = x.fma(b1, c4b);
            x = FloatVector.broadcast(S, pa[ao + 5]);
            c5a = x.fma(b0, c5a);
            c5b = x.fma(b1, c5b);
            x = FloatVector.broadcast(S, pa[ao + 6]);
            c6a = x.fma(b0, c6a);
            c6b = x.fma(b1, c6b);
            x = FloatVector.broadcast(S, pa[ao + 7]);
            c7a = x.fma(b0, c7a);
            c7b = x.fma(b1, c7b);
            x = FloatVector.broadcast(S, pa[ao + 8]);
            c8a = x.fma(b0, c8a);
            c8b = x.fma(b1, c8b);
            x = FloatVector.broadcast(S, pa[ao + 9]);
            c9a = x.fma(b0, c9a);
            c9b = x.fma(b1, c9b);
            x = FloatVector.broadcast(S, pa[ao + 10]);
            c10a = x.fma(b0, c10a);
            c10b = x.fma(b1, c10b);
            x = FloatVector.broadcast(S, pa[ao + 11]);
            c11a = x.fma(b0, c11a);
            c11b = x.fma(b1, c11b);
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (tile != null) {
            c0a.mul(va).intoArray(tile, 0 * NR + 0 * L);
            c0b.mul(va).intoArray(tile, 0 * NR + 1 * L);
            c1a.mul(va).intoArray(tile, 1 * NR + 0 * L);
            c1b.mul(va).intoArray(tile, 1 * NR + 1 * L);
            c2a.mul(va).intoArray(tile, 2 * NR + 0 * L);
            c2b.mul(va).intoArray(tile, 2 * NR + 1 * L);
            c3a.mul(va).intoArray(tile, 3 * NR + 0 * L);
            c3b.mul(va).intoArray(tile, 3 * NR + 1 * L);
            c4a.mul(va).intoArray(tile, 4 * NR + 0 * L);
            c4b.mul(va).intoArray(tile, 4 * NR + 1 * L);
            c5a.mul(va).intoArray(tile, 5 * NR + 0 * L);
            c5b.mul(va).intoArray(tile, 5 * NR + 1 * L);
            c6a.mul(va).intoArray(tile, 6 * NR + 0 * L);
            c6b.mul(va).intoArray(tile, 6 * NR + 1 * L);
            c7a.mul(va).intoArray(tile, 7 * NR + 0 * L);
            c7b.mul(va).intoArray(tile, 7 * NR + 1 * L);
            c8a.mul(va).intoArray(tile, 8 * NR + 0 * L);
            c8b.mul(va).intoArray(tile, 8 * NR + 1 * L);
            c9a.mul(va).intoArray(tile, 9 * NR + 0 * L);
            c9b.mul(va).intoArray(tile, 9 * NR + 1 * L);
            c10a.mul(va).intoArray(tile, 10 * NR + 0 * L);
            c10b.mul(va).intoArray(tile, 10 * NR + 1 * L);
            c11a.mul(va).intoArray(tile, 11 * NR + 0 * L);
            c11b.mul(va).intoArray(tile, 11 * NR + 1 * L);
            return;
        }
        if (beta == 0f) {
            c0a.mul(va).intoMemorySegment(c, cb, NATIVE);
            c0b.mul(va).intoMemorySegment(c, cb + 4 * L, NATIVE);
            c1a.mul(va).intoMemorySegment(c, cb + 1 * ldcb, NATIVE);
            c1b.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 4 * L, NATIVE);
            c2a.mul(va).intoMemorySegment(c, cb + 2 * ldcb, NATIVE);
            c2b.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 4 * L, NATIVE);
            c3a.mul(va).intoMemorySegment(c, cb + 3 * ldcb, NATIVE);
            c3b.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 4 * L, NATIVE);
            c4a.mul(va).intoMemorySegment(c, cb + 4 * ldcb, NATIVE);
            c4b.mul(va).intoMemorySegment(c, cb + 4 * ldcb + 4 * L, NATIVE);
            c5a.mul(va).intoMemorySegment(c, cb + 5 * ldcb, NATIVE);
            c5b.mul(va).intoMemorySegment(c, cb + 5 * ldcb + 4 * L, NATIVE);
            c6a.mul(va).intoMemorySegment(c, cb + 6 * ldcb, NATIVE);
            c6b.mul(va).intoMemorySegment(c, cb + 6 * ldcb + 4 * L, NATIVE);
            c7a.mul(va).intoMemorySegment(c, cb + 7 * ldcb, NATIVE);
            c7b.mul(va).intoMemorySegment(c, cb + 7 * ldcb + 4 * L, NATIVE);
            c8a.mul(va).intoMemorySegment(c, cb + 8 * ldcb, NATIVE);
            c8b.mul(va).intoMemorySegment(c, cb + 8 * ldcb + 4 * L, NATIVE);
            c9a.mul(va).intoMemorySegment(c, cb + 9 * ldcb, NATIVE);
            c9b.mul(va).intoMemorySegment(c, cb + 9 * ldcb + 4 * L, NATIVE);
            c10a.mul(va).intoMemorySegment(c, cb + 10 * ldcb, NATIVE);
            c10b.mul(va).intoMemorySegment(c, cb + 10 * ldcb + 4 * L, NATIVE);
            c11a.mul(va).intoMemorySegment(c, cb + 11 * ldcb, NATIVE);
            c11b.mul(va).intoMemorySegment(c, cb + 11 * ldcb + 4 * L, NATIVE);
        } else {
            FloatVector vb = FloatVector.broadcast(S, beta);
            put(c0a, va, vb, c, cb);
            put(c0b, va, vb, c, cb + 4 * L);
            put(c1a, va, vb, c, cb + 1 * ldcb);
            put(c1b, va, vb, c, cb + 1 * ldcb + 4 * L);
            put(c2a, va, vb, c, cb + 2 * ldcb);
            put(c2b, va, vb, c, cb + 2 * ldcb + 4 * L);
            put(c3a, va, vb, c, cb + 3 * ldcb);
            put(c3b, va, vb, c, cb + 3 * ldcb + 4 * L);
            put(c4a, va, vb, c, cb + 4 * ldcb);
            put(c4b, va, vb, c, cb + 4 * ldcb + 4 * L);
            put(c5a, va, vb, c, cb + 5 * ldcb);
            put(c5b, va, vb, c, cb + 5 * ldcb + 4 * L);
            put(c6a, va, vb, c, cb + 6 * ldcb);
            put(c6b, va, vb, c, cb + 6 * ldcb + 4 * L);
            put(c7a, va, vb, c, cb + 7 * ldcb);
            put(c7b, va, vb, c, cb + 7 * ldcb + 4 * L);
            put(c8a, va, vb, c, cb + 8 * ldcb);
            put(c8b, va, vb, c, cb + 8 * ldcb + 4 * L);
            put(c9a, va, vb, c, cb + 9 * ldcb);
            put(c9b, va, vb, c, cb + 9 * ldcb + 4 * L);
            put(c10a, va, vb, c, cb + 10 * ldcb);
            put(c10b, va, vb, c, cb + 10 * ldcb + 4 * L);
            put(c11a, va, vb, c, cb + 11 * ldcb);
            put(c11b, va, vb, c, cb + 11 * ldcb + 4 * L);
        }
    }

    /** {@code C[off] = alpha·acc + beta·C[off]} for one vector. */
    private static void put(FloatVector acc, FloatVector va, FloatVector vb, MemorySegment c, long off) {
        FloatVector old = FloatVector.fromMemorySegment(S, c, off, NATIVE);
        old.fma(vb, acc.mul(va)).intoMemorySegment(c, off, NATIVE);
    }
}
