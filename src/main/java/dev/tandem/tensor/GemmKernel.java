package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM micro-kernel: a 4×4-vector tile of C (4×64 floats with 512-bit vectors) held in
 * 16 accumulator registers while it walks the packed panels of A and B along k.
 *
 * <p>Why this shape: on Zen 4 (32 vector registers, one 512-bit FMA per cycle, 4-cycle latency)
 * we measured 12×2, 8×3, 6×3, 6×4, 5×4, 4×4, 4×5 and 4×6 vector tiles with B streamed from L2 as
 * {@link Gemm} does: 4×4 was the fastest (about 96 GFLOPS per core against a measured FMA peak of
 * about 110), ahead of 12×2 (about 80). Each k step issues 4 vector loads of B and only 4
 * scalar broadcasts of A for 16 FMAs; fewer broadcasts per FMA is what the taller tiles lose on.
 * 16 accumulators + 4 B vectors + 1 broadcast = 21 registers: no spills (6×4, at 29, was
 * much slower). The tile is 64 columns wide, a multiple of every transformer width
 * (64-wide heads, C = 192, 768, 3072), so those shapes need no edge tiles. With 256-bit vectors
 * (16 registers) this shape would spill; the code stays correct for any species.
 *
 * <p>Written out by hand (no arrays of vectors, no lambdas): C2 keeps every accumulator in a
 * register only when each is a separate local of one static method. The code is regular; it
 * was produced by {@code tools/gemm_kernel_gen.py 4 4} (rows {@code r} × vectors {@code a..}).
 */
final class GemmKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows of the C tile. */
    static final int MR = 4;
    /** Columns of the C tile: 4 vectors. */
    static final int NR = 4 * L;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

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
        FloatVector c0a, c0b, c0c, c0d, c1a, c1b, c1c, c1d, c2a, c2b, c2c, c2d, c3a, c3b, c3c, c3d;
        c0a = c0b = c0c = c0d = c1a = c1b = c1c = c1d = c2a = c2b = c2c = c2d = c3a = c3b = c3c = c3d = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * NR;
            int ao = ai + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, pb, bo);
            FloatVector b1 = FloatVector.fromArray(S, pb, bo + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, pb, bo + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, pb, bo + 3 * L);
            FloatVector x;
            x = FloatVector.broadcast(S, pa[ao + 0]);
            c0a = x.fma(b0, c0a);
            c0b = x.fma(b1, c0b);
            c0c = x.fma(b2, c0c);
            c0d = x.fma(b3, c0d);
            x = FloatVector.broadcast(S, pa[ao + 1]);
            c1a = x.fma(b0, c1a);
            c1b = x.fma(b1, c1b);
            c1c = x.fma(b2, c1c);
            c1d = x.fma(b3, c1d);
            x = FloatVector.broadcast(S, pa[ao + 2]);
            c2a = x.fma(b0, c2a);
            c2b = x.fma(b1, c2b);
            c2c = x.fma(b2, c2c);
            c2d = x.fma(b3, c2d);
            x = FloatVector.broadcast(S, pa[ao + 3]);
            c3a = x.fma(b0, c3a);
            c3b = x.fma(b1, c3b);
            c3c = x.fma(b2, c3c);
            c3d = x.fma(b3, c3d);
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (tile != null) {
            c0a.mul(va).intoArray(tile, 0 * NR + 0 * L);
            c0b.mul(va).intoArray(tile, 0 * NR + 1 * L);
            c0c.mul(va).intoArray(tile, 0 * NR + 2 * L);
            c0d.mul(va).intoArray(tile, 0 * NR + 3 * L);
            c1a.mul(va).intoArray(tile, 1 * NR + 0 * L);
            c1b.mul(va).intoArray(tile, 1 * NR + 1 * L);
            c1c.mul(va).intoArray(tile, 1 * NR + 2 * L);
            c1d.mul(va).intoArray(tile, 1 * NR + 3 * L);
            c2a.mul(va).intoArray(tile, 2 * NR + 0 * L);
            c2b.mul(va).intoArray(tile, 2 * NR + 1 * L);
            c2c.mul(va).intoArray(tile, 2 * NR + 2 * L);
            c2d.mul(va).intoArray(tile, 2 * NR + 3 * L);
            c3a.mul(va).intoArray(tile, 3 * NR + 0 * L);
            c3b.mul(va).intoArray(tile, 3 * NR + 1 * L);
            c3c.mul(va).intoArray(tile, 3 * NR + 2 * L);
            c3d.mul(va).intoArray(tile, 3 * NR + 3 * L);
            return;
        }
        if (beta == 0f) {
            c0a.mul(va).intoMemorySegment(c, cb, NATIVE);
            c0b.mul(va).intoMemorySegment(c, cb + 4 * L, NATIVE);
            c0c.mul(va).intoMemorySegment(c, cb + 8 * L, NATIVE);
            c0d.mul(va).intoMemorySegment(c, cb + 12 * L, NATIVE);
            c1a.mul(va).intoMemorySegment(c, cb + 1 * ldcb, NATIVE);
            c1b.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 4 * L, NATIVE);
            c1c.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 8 * L, NATIVE);
            c1d.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 12 * L, NATIVE);
            c2a.mul(va).intoMemorySegment(c, cb + 2 * ldcb, NATIVE);
            c2b.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 4 * L, NATIVE);
            c2c.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 8 * L, NATIVE);
            c2d.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 12 * L, NATIVE);
            c3a.mul(va).intoMemorySegment(c, cb + 3 * ldcb, NATIVE);
            c3b.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 4 * L, NATIVE);
            c3c.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 8 * L, NATIVE);
            c3d.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 12 * L, NATIVE);
        } else {
            FloatVector vb = FloatVector.broadcast(S, beta);
            put(c0a, va, vb, c, cb);
            put(c0b, va, vb, c, cb + 4 * L);
            put(c0c, va, vb, c, cb + 8 * L);
            put(c0d, va, vb, c, cb + 12 * L);
            put(c1a, va, vb, c, cb + 1 * ldcb);
            put(c1b, va, vb, c, cb + 1 * ldcb + 4 * L);
            put(c1c, va, vb, c, cb + 1 * ldcb + 8 * L);
            put(c1d, va, vb, c, cb + 1 * ldcb + 12 * L);
            put(c2a, va, vb, c, cb + 2 * ldcb);
            put(c2b, va, vb, c, cb + 2 * ldcb + 4 * L);
            put(c2c, va, vb, c, cb + 2 * ldcb + 8 * L);
            put(c2d, va, vb, c, cb + 2 * ldcb + 12 * L);
            put(c3a, va, vb, c, cb + 3 * ldcb);
            put(c3b, va, vb, c, cb + 3 * ldcb + 4 * L);
            put(c3c, va, vb, c, cb + 3 * ldcb + 8 * L);
            put(c3d, va, vb, c, cb + 3 * ldcb + 12 * L);
        }
    }

    /**
     * As {@link #tile}, but reads A in place instead of from a packed panel: element (row r,
     * step p) is at byte {@code ab + r·rowb + p·stepb} of {@code a}. Used where a packed A
     * panel would be read only once (outputs at most NR wide, such as 64-wide attention heads),
     * so packing it would cost as much as the multiply. {@code tile} as in {@link #tile}.
     */
    static void tileDirectA(int kc, MemorySegment a, long ab, long rowb, long stepb, float[] pb, int bi,
                            MemorySegment c, long cb, long ldcb, float alpha, float beta, float[] tile) {
        FloatVector c0a, c0b, c0c, c0d, c1a, c1b, c1c, c1d, c2a, c2b, c2c, c2d, c3a, c3b, c3c, c3d;
        c0a = c0b = c0c = c0d = c1a = c1b = c1c = c1d = c2a = c2b = c2c = c2d = c3a = c3b = c3c = c3d = FloatVector.zero(S);
        long r0 = ab + 0 * rowb; long r1 = ab + 1 * rowb; long r2 = ab + 2 * rowb; long r3 = ab + 3 * rowb;
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * NR;
            long po = p * stepb;
            FloatVector b0 = FloatVector.fromArray(S, pb, bo);
            FloatVector b1 = FloatVector.fromArray(S, pb, bo + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, pb, bo + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, pb, bo + 3 * L);
            FloatVector x;
            x = FloatVector.broadcast(S, a.get(F32, r0 + po));
            c0a = x.fma(b0, c0a);
            c0b = x.fma(b1, c0b);
            c0c = x.fma(b2, c0c);
            c0d = x.fma(b3, c0d);
            x = FloatVector.broadcast(S, a.get(F32, r1 + po));
            c1a = x.fma(b0, c1a);
            c1b = x.fma(b1, c1b);
            c1c = x.fma(b2, c1c);
            c1d = x.fma(b3, c1d);
            x = FloatVector.broadcast(S, a.get(F32, r2 + po));
            c2a = x.fma(b0, c2a);
            c2b = x.fma(b1, c2b);
            c2c = x.fma(b2, c2c);
            c2d = x.fma(b3, c2d);
            x = FloatVector.broadcast(S, a.get(F32, r3 + po));
            c3a = x.fma(b0, c3a);
            c3b = x.fma(b1, c3b);
            c3c = x.fma(b2, c3c);
            c3d = x.fma(b3, c3d);
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (tile != null) {
            c0a.mul(va).intoArray(tile, 0 * NR + 0 * L);
            c0b.mul(va).intoArray(tile, 0 * NR + 1 * L);
            c0c.mul(va).intoArray(tile, 0 * NR + 2 * L);
            c0d.mul(va).intoArray(tile, 0 * NR + 3 * L);
            c1a.mul(va).intoArray(tile, 1 * NR + 0 * L);
            c1b.mul(va).intoArray(tile, 1 * NR + 1 * L);
            c1c.mul(va).intoArray(tile, 1 * NR + 2 * L);
            c1d.mul(va).intoArray(tile, 1 * NR + 3 * L);
            c2a.mul(va).intoArray(tile, 2 * NR + 0 * L);
            c2b.mul(va).intoArray(tile, 2 * NR + 1 * L);
            c2c.mul(va).intoArray(tile, 2 * NR + 2 * L);
            c2d.mul(va).intoArray(tile, 2 * NR + 3 * L);
            c3a.mul(va).intoArray(tile, 3 * NR + 0 * L);
            c3b.mul(va).intoArray(tile, 3 * NR + 1 * L);
            c3c.mul(va).intoArray(tile, 3 * NR + 2 * L);
            c3d.mul(va).intoArray(tile, 3 * NR + 3 * L);
            return;
        }
        if (beta == 0f) {
            c0a.mul(va).intoMemorySegment(c, cb, NATIVE);
            c0b.mul(va).intoMemorySegment(c, cb + 4 * L, NATIVE);
            c0c.mul(va).intoMemorySegment(c, cb + 8 * L, NATIVE);
            c0d.mul(va).intoMemorySegment(c, cb + 12 * L, NATIVE);
            c1a.mul(va).intoMemorySegment(c, cb + 1 * ldcb, NATIVE);
            c1b.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 4 * L, NATIVE);
            c1c.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 8 * L, NATIVE);
            c1d.mul(va).intoMemorySegment(c, cb + 1 * ldcb + 12 * L, NATIVE);
            c2a.mul(va).intoMemorySegment(c, cb + 2 * ldcb, NATIVE);
            c2b.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 4 * L, NATIVE);
            c2c.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 8 * L, NATIVE);
            c2d.mul(va).intoMemorySegment(c, cb + 2 * ldcb + 12 * L, NATIVE);
            c3a.mul(va).intoMemorySegment(c, cb + 3 * ldcb, NATIVE);
            c3b.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 4 * L, NATIVE);
            c3c.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 8 * L, NATIVE);
            c3d.mul(va).intoMemorySegment(c, cb + 3 * ldcb + 12 * L, NATIVE);
        } else {
            FloatVector vb = FloatVector.broadcast(S, beta);
            put(c0a, va, vb, c, cb);
            put(c0b, va, vb, c, cb + 4 * L);
            put(c0c, va, vb, c, cb + 8 * L);
            put(c0d, va, vb, c, cb + 12 * L);
            put(c1a, va, vb, c, cb + 1 * ldcb);
            put(c1b, va, vb, c, cb + 1 * ldcb + 4 * L);
            put(c1c, va, vb, c, cb + 1 * ldcb + 8 * L);
            put(c1d, va, vb, c, cb + 1 * ldcb + 12 * L);
            put(c2a, va, vb, c, cb + 2 * ldcb);
            put(c2b, va, vb, c, cb + 2 * ldcb + 4 * L);
            put(c2c, va, vb, c, cb + 2 * ldcb + 8 * L);
            put(c2d, va, vb, c, cb + 2 * ldcb + 12 * L);
            put(c3a, va, vb, c, cb + 3 * ldcb);
            put(c3b, va, vb, c, cb + 3 * ldcb + 4 * L);
            put(c3c, va, vb, c, cb + 3 * ldcb + 8 * L);
            put(c3d, va, vb, c, cb + 3 * ldcb + 12 * L);
        }
    }

    /** {@code C[off] = alpha·acc + beta·C[off]} for one vector. */
    private static void put(FloatVector acc, FloatVector va, FloatVector vb, MemorySegment c, long off) {
        FloatVector old = FloatVector.fromMemorySegment(S, c, off, NATIVE);
        old.fma(vb, acc.mul(va)).intoMemorySegment(c, off, NATIVE);
    }
}
