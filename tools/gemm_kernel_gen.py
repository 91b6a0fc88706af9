#!/usr/bin/env python3
"""Writes GemmKernel.java: the unrolled MR x NV-vector GEMM micro-kernels.

Usage: tools/gemm_kernel_gen.py 4 4 > src/main/java/dev/tandem/tensor/GemmKernel.java
Arguments: rows of the C tile (MR), vectors per row (NV). Keep MR*NV + NV + 1 <= 32 registers.
"""
import sys
MR=int(sys.argv[1]); NV=int(sys.argv[2])
acc=[[f"c{r}{chr(97+v)}" for v in range(NV)] for r in range(MR)]
o=[]
w=o.append
w(f"""package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM micro-kernel: a {MR}×{NV}-vector tile of C ({MR}×{NV*16} floats with 512-bit vectors) held in
 * {MR*NV} accumulator registers while it walks the packed panels of A and B along k.
 *
 * <p>Why this shape: on Zen 4 (32 vector registers, one 512-bit FMA per cycle, 4-cycle latency)
 * we measured 12×2, 8×3, 6×3, 6×4, 5×4, 4×4, 4×5 and 4×6 vector tiles with B streamed from L2 as
 * {{@link Gemm}} does: {MR}×{NV} was the fastest (about 96 GFLOPS per core against a measured FMA peak of
 * about 110), ahead of 12×2 (about 80). Each k step issues {NV} vector loads of B and only {MR}
 * scalar broadcasts of A for {MR*NV} FMAs; fewer broadcasts per FMA is what the taller tiles lose on.
 * {MR*NV} accumulators + {NV} B vectors + 1 broadcast = {MR*NV+NV+1} registers: no spills (6×4, at 29, was
 * much slower). The tile is {NV*16} columns wide, a multiple of every transformer width
 * (64-wide heads, C = 192, 768, 3072), so those shapes need no edge tiles. With 256-bit vectors
 * (16 registers) this shape would spill; the code stays correct for any species.
 *
 * <p>Written out by hand (no arrays of vectors, no lambdas): C2 keeps every accumulator in a
 * register only when each is a separate local of one static method. The code is regular; it
 * was produced by {{@code tools/gemm_kernel_gen.py {MR} {NV}}} (rows {{@code r}} × vectors {{@code a..}}).
 */
final class GemmKernel {{
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows of the C tile. */
    static final int MR = {MR};
    /** Columns of the C tile: {NV} vectors. */
    static final int NR = {NV} * L;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private GemmKernel() {{}}
""")

def kernel(direct):
    if not direct:
        w(f"""
    /**
     * Computes the MR×NR tile {{@code alpha·Apanel·Bpanel}} over {{@code kc}} steps. Packed A holds
     * MR floats per k step (from {{@code ai}}), packed B holds NR floats per k step (from
     * {{@code bi}}). When {{@code tile}} is null the result goes straight into C (byte offset
     * {{@code cb}}, row pitch {{@code ldcb}} bytes) as {{@code result + beta·C}} (beta 0: overwrite);
     * otherwise {{@code alpha·result}} is written row-major into {{@code tile}} for edge handling.
     */
    static void tile(int kc, float[] pa, int ai, float[] pb, int bi,
                     MemorySegment c, long cb, long ldcb, float alpha, float beta, float[] tile) {{""")
    else:
        w(f"""
    /**
     * As {{@link #tile}}, but reads A in place instead of from a packed panel: element (row r,
     * step p) is at byte {{@code ab + r·rowb + p·stepb}} of {{@code a}}. Used where a packed A
     * panel would be read only once (outputs at most NR wide, such as 64-wide attention heads),
     * so packing it would cost as much as the multiply. {{@code tile}} as in {{@link #tile}}.
     */
    static void tileDirectA(int kc, MemorySegment a, long ab, long rowb, long stepb, float[] pb, int bi,
                            MemorySegment c, long cb, long ldcb, float alpha, float beta, float[] tile) {{""")
    w("        FloatVector " + ", ".join(a for row in acc for a in row) + ";")
    w("        " + " = ".join(a for row in acc for a in row) + " = FloatVector.zero(S);")
    if direct:
        w("        " + "; ".join(f"long r{r} = ab + {r} * rowb" for r in range(MR)) + ";")
    w("        for (int p = 0; p < kc; p++) {")
    w("            int bo = bi + p * NR;")
    if direct:
        w("            long po = p * stepb;")
    else:
        w("            int ao = ai + p * MR;")
    for v in range(NV):
        w(f"            FloatVector b{v} = FloatVector.fromArray(S, pb, bo{'' if v==0 else ' + ' + str(v) + ' * L'});")
    w("            FloatVector x;")
    for r in range(MR):
        if direct:
            w(f"            x = FloatVector.broadcast(S, a.get(F32, r{r} + po));")
        else:
            w(f"            x = FloatVector.broadcast(S, pa[ao + {r}]);")
        for v in range(NV):
            w(f"            {acc[r][v]} = x.fma(b{v}, {acc[r][v]});")
    w("        }")
    w("        FloatVector va = FloatVector.broadcast(S, alpha);")
    if True:
        w("        if (tile != null) {")
        for r in range(MR):
            for v in range(NV):
                w(f"            {acc[r][v]}.mul(va).intoArray(tile, {r} * NR + {v} * L);")
        w("            return;")
        w("        }")
    w("        if (beta == 0f) {")
    for r in range(MR):
        row = "cb" if r==0 else f"cb + {r} * ldcb"
        for v in range(NV):
            off = row if v==0 else f"{row} + {v*4} * L"
            w(f"            {acc[r][v]}.mul(va).intoMemorySegment(c, {off}, NATIVE);")
    w("        } else {")
    w("            FloatVector vb = FloatVector.broadcast(S, beta);")
    for r in range(MR):
        row = "cb" if r==0 else f"cb + {r} * ldcb"
        for v in range(NV):
            off = row if v==0 else f"{row} + {v*4} * L"
            w(f"            put({acc[r][v]}, va, vb, c, {off});")
    w("        }")
    w("    }")

kernel(False)
kernel(True)
w("""
    /** {@code C[off] = alpha·acc + beta·C[off]} for one vector. */
    private static void put(FloatVector acc, FloatVector va, FloatVector vb, MemorySegment c, long off) {
        FloatVector old = FloatVector.fromMemorySegment(S, c, off, NATIVE);
        old.fma(vb, acc.mul(va)).intoMemorySegment(c, off, NATIVE);
    }
}""")
print("\n".join(o))
