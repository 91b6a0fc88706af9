package dev.tandem.tensor;

import static dev.tandem.tensor.Tensor.F32;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM, {@code C = alpha·op(A)·op(B) + beta·C}, row-major, blocked and packed
 * like BLIS but with the inner two loops swapped: for each KC-deep slice, op(A) is packed once
 * (L3), then each kc×nc block of packed op(B) sits in L2 while one MR×KC micro-panel of A stays
 * in L1 and {@link GemmKernel} streams the block's NR-wide B micro-panels past it. Measured on
 * Zen 4, the kernel loses almost nothing streaming B from L2 (about 97 vs 99 GFLOPS per core
 * from L1), and this order needs A packed only once per k slice.
 *
 * <p>Packing copies every transpose into the same panel layout, so one micro-kernel serves NN,
 * NT, TN and TT. Partial tiles at the right and bottom edges are computed into a small scratch
 * tile and merged, so any size (0, 1, primes) goes through the same code. Outputs at most one
 * micro-panel wide (attention's 64-wide heads) skip packing A: each A panel would be read once.
 *
 * <p>Memory: per thread, packed A up to MC_MAX×KC floats (12 MiB) and one B block (576 KiB) of
 * heap, allocated on first use and reused; a thread that starts shared GEMMs holds their packed A
 * and two B blocks as well. The block sizes can be overridden for tuning with
 * the system properties {@code tandem.gemm.kc}, {@code tandem.gemm.mc} and
 * {@code tandem.gemm.bblock}.
 *
 * <p>Threads: those of the pool passed in. A product with enough rows runs as a
 * {@link ParallelGemm}: the threads share one packed copy of each operand block and claim work
 * from counters. With few rows (one token at a time) packing B costs as much as the multiply, so
 * N is split instead and each worker packs its own columns.
 */
final class Gemm {
    private static final VectorSpecies<Float> S = GemmKernel.S;
    private static final int L = GemmKernel.L;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final int MR = GemmKernel.MR;
    private static final int NR = GemmKernel.NR;
    /** Rows or k steps per chunk when transposing into panels, so the writes stay in L1. */
    private static final int TRANSPOSE_CHUNK = 64;
    /**
     * Most depth of a packed k slice; k is cut into equal slices of at most this. Deep slices
     * make the load and store of the C tile around each micro-kernel call negligible; one A
     * micro-panel (MR×KC = 4×768 floats = 12 KiB) still fits the 32 KiB L1. Measured on Zen 4:
     * 768 and 512 beat 384 and 256 by 5–15%.
     */
    static final int KC = Integer.getInteger("tandem.gemm.kc", 768);
    /**
     * Most rows of packed A per block. A is packed once per k slice for up to this many rows
     * (4096×768×4 = 12 MiB, L3-resident); re-packing A for every B block cost ~15% at
     * transformer sizes.
     */
    static final int MC_MAX = roundUp(Integer.getInteger("tandem.gemm.mc", 4096), MR);
    /**
     * Floats in one packed B block (kc×nc): 576 KiB, so the block stays in the 1 MiB L2 while
     * every A micro-panel streams it. nc follows from kc (768 → 192 columns, 64 → 2304).
     */
    static final int B_BLOCK = Integer.getInteger("tandem.gemm.bblock", 147_456);
    /**
     * Below this many multiply-adds (128³, ~25 µs on one core) a GEMM runs on the calling
     * thread: handing work to the pool costs tens of µs on a loaded machine.
     */
    private static final long PARALLEL_MIN_FLOPS = 1L << 21;

    private Gemm() {}

    /**
     * Per-thread pack buffers, grown on demand and then reused by every later call. The shared
     * ones belong to a thread that runs a {@link ParallelGemm}: its workers pack into and read
     * from them.
     */
    static final class Workspace {
        float[] pa = new float[0];
        float[] pb = new float[0];
        float[] row = new float[0];
        final float[] tile = new float[MR * NR];
        float[] sharedA = new float[0];
        final float[][] sharedB = {new float[0], new float[0]};

        float[] sharedA(int size) {
            if (sharedA.length < size) sharedA = new float[size];
            return sharedA;
        }

        float[] sharedB(int which, int size) {
            if (sharedB[which].length < size) sharedB[which] = new float[size];
            return sharedB[which];
        }

        float[] pa(int size) {
            if (pa.length < size) pa = new float[size];
            return pa;
        }

        float[] pb(int size) {
            if (pb.length < size) pb = new float[size];
            return pb;
        }

        float[] row(int size) {
            if (row.length < size) row = new float[size];
            return row;
        }
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    static Workspace workspace() {
        return WORKSPACE.get();
    }

    static void gemm(WorkerPool pool, boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOffset, int lda, MemorySegment b, long bOffset, int ldb, float beta,
                     MemorySegment c, long cOffset, int ldc) {
        if (m <= 0 || n <= 0) return;
        Operands o = new Operands(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
        int threads = pool.threads();
        if (threads == 1 || (long) m * n * k < PARALLEL_MIN_FLOPS) {
            block(o, 0, m, 0, n);
            return;
        }
        if (k > 0 && ceilDiv(m, MR) >= 4 * threads) {
            new ParallelGemm(o, threads).run(pool);
            return;
        }
        // Too few rows to share out (e.g. one token at a time in generation): packing B costs
        // as much as the multiply, so split N and let each worker pack its own columns.
        int tn = Math.min(threads, ceilDiv(n, NR));
        if (tn == 1) {
            block(o, 0, m, 0, n);
            return;
        }
        pool.parallelFor(tn, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) block(o, 0, m, split(n, NR, tn, t), split(n, NR, tn, t + 1));
        });
    }
    static void gemmBatched(WorkerPool pool, int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOffset, int lda, long strideA,
                            MemorySegment b, long bOffset, int ldb, long strideB, float beta,
                            MemorySegment c, long cOffset, int ldc, long strideC) {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        int threads = pool.threads();
        // Attention has many small GEMMs: one whole GEMM per worker needs no splitting and no
        // duplicated packing. Workers claim the next item from a counter, so one that the OS
        // deschedules does not hold a fixed share. With few items that do not divide evenly,
        // split each GEMM instead.
        boolean overBatch = threads > 1 && (batch % threads == 0 || batch >= 4 * threads);
        if (overBatch) {
            AtomicInteger next = new AtomicInteger();
            pool.parallelTasks(threads, 1, (task, t0, t1) -> {
                for (int i; (i = next.getAndIncrement()) < batch; ) {
                    block(new Operands(transA, transB, m, n, k, alpha, a, aOffset + i * strideA, lda,
                            b, bOffset + i * strideB, ldb, beta, c, cOffset + i * strideC, ldc), 0, m, 0, n);
                }
            });
        } else {
            for (int i = 0; i < batch; i++) {
                gemm(pool, transA, transB, m, n, k, alpha, a, aOffset + i * strideA, lda, b, bOffset + i * strideB, ldb,
                        beta, c, cOffset + i * strideC, ldc);
            }
        }
    }

    /** The arguments of one GEMM, passed as one value to the blocked loop. */
    record Operands(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOffset, int lda, MemorySegment b, long bOffset, int ldb,
                            float beta, MemorySegment c, long cOffset, int ldc) {}

    /** Boundary {@code part} of {@code parts} over {@code [0, n)}, on multiples of {@code unit}. */
    private static int split(int n, int unit, int parts, int part) {
        int units = ceilDiv(n, unit);
        return Math.min(n, (int) ((long) units * part / parts) * unit);
    }

    /** Computes rows {@code [i0, i1)} × columns {@code [j0, j1)} of C on the calling thread. */
    private static void block(Operands o, int i0, int i1, int j0, int j1) {
        if (i0 >= i1 || j0 >= j1) return;
        if (o.k <= 0) {
            scaleC(o, i0, i1, j0, j1);
            return;
        }
        Workspace ws = WORKSPACE.get();
        // Rows are cut into as few A blocks as MC_MAX allows, evenly, so A is packed once per
        // k block (usually) and B once per A block.
        int rows = i1 - i0, mBlocks = ceilDiv(rows, MC_MAX), mcStep = roundUp(ceilDiv(rows, mBlocks), MR);
        boolean directA = directA(j1 - j0);
        int kcStep = ceilDiv(o.k, ceilDiv(o.k, KC));
        int ncStep = ncFor(kcStep);
        for (int pc = 0; pc < o.k; pc += kcStep) {
            int kc = Math.min(kcStep, o.k - pc);
            float betaEff = pc == 0 ? o.beta : 1f; // later k blocks add to what the first wrote
            for (int ic = i0; ic < i1; ic += mcStep) {
                int mc = Math.min(mcStep, i1 - ic);
                float[] pa = directA ? null : ws.pa(roundUp(mc, MR) * kc);
                if (!directA) packA(o, ic, mc, pc, kc, pa, 0, ws);
                for (int jc = j0; jc < j1; jc += ncStep) {
                    int nc = Math.min(ncStep, j1 - jc);
                    float[] pb = ws.pb(roundUp(nc, NR) * kc);
                    packB(o, pc, kc, jc, nc, pb, 0, ws);
                    panels(o, ws, directA, pa, ic, 0, mc, pb, jc, nc, pc, kc, betaEff);
                }
            }
        }
    }

    /** Whether a GEMM's output is narrow enough to read A in place rather than pack it. */
    static boolean directA(int columns) {
        // At most one B micro-panel wide: every packed A panel would be read once, so the kernel
        // reads A where it lies instead (packing would cost as much as the multiply).
        // Measured at 1024×64×1024: NN 64 → 100 GFLOPS, TN 39 → 68 (OpenBLAS: 88 and 69).
        return columns <= NR;
    }

    /**
     * Multiplies rows {@code [ic+ir0, ic+ir1)} of the k slice {@code [pc, pc+kc)} by one packed B
     * block (columns {@code [jc, jc+nc)}), adding into C with {@code betaEff}. Packed A holds the
     * rows from {@code ic} on ({@code ir0} a multiple of MR), unless {@code directA}.
     */
    static void panels(Operands o, Workspace ws, boolean directA, float[] pa, int ic, int ir0, int ir1,
                       float[] pb, int jc, int nc, int pc, int kc, float betaEff) {
        long ldcb = 4L * o.ldc;
        // One A micro-panel (MR×kc) stays in L1 while the B micro-panels of this L2-resident
        // block stream past it.
        for (int ir = ir0; ir < ir1; ir += MR) {
            int mr = Math.min(MR, ir1 - ir);
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr);
                long ci = o.cOffset + (long) (ic + ir) * o.ldc + jc + jr;
                if (directA && mr == MR) {
                    long row = o.transA ? 4 : 4L * o.lda, step = o.transA ? 4L * o.lda : 4;
                    long ab = 4 * o.aOffset + (ic + ir) * row + pc * step;
                    if (nr == NR) {
                        GemmKernel.tileDirectA(kc, o.a, ab, row, step, pb, jr * kc, o.c, 4 * ci, ldcb, o.alpha, betaEff, null);
                    } else {
                        GemmKernel.tileDirectA(kc, o.a, ab, row, step, pb, jr * kc, o.c, 0, 0, o.alpha, 0f, ws.tile);
                        merge(ws.tile, mr, nr, o.c, ci, o.ldc, betaEff);
                    }
                    continue;
                }
                float[] panelA = pa;
                int ai = ir * kc;
                if (directA) { // an edge tile: pack just this panel
                    panelA = ws.pa(MR * kc);
                    packA(o, ic + ir, mr, pc, kc, panelA, 0, ws);
                    ai = 0;
                }
                if (mr == MR && nr == NR) {
                    GemmKernel.tile(kc, panelA, ai, pb, jr * kc, o.c, 4 * ci, ldcb, o.alpha, betaEff, null);
                } else {
                    GemmKernel.tile(kc, panelA, ai, pb, jr * kc, o.c, 0, 0, o.alpha, 0f, ws.tile);
                    merge(ws.tile, mr, nr, o.c, ci, o.ldc, betaEff);
                }
            }
        }
    }

    /**
     * Packs op(A)[ic..ic+mc, pc..pc+kc] as MR-row panels, each k-major (MR floats per k step),
     * rows past the edge zero-filled, from index {@code dst0} of {@code pa}.
     */
    static void packA(Operands o, int ic, int mc, int pc, int kc, float[] pa, int dst0, Workspace ws) {
        if (o.transA) {
            // op(A)[i][p] = A[p][i]: each k step's values for a group of rows are one contiguous
            // run of A. Take TRANSPOSE_CHUNK rows at a time (so the panels being written stay in
            // L1), one bulk copy per k step, dealt out MR values per panel with plain stores
            // (System.arraycopy costs more than it moves at this size).
            float[] run = ws.row(TRANSPOSE_CHUNK);
            for (int i0 = 0; i0 < mc; i0 += TRANSPOSE_CHUNK) {
                int len = Math.min(TRANSPOSE_CHUNK, mc - i0), padded = roundUp(len, MR);
                for (int p = 0; p < kc; p++) {
                    MemorySegment.copy(o.a, F32, 4 * (o.aOffset + (long) (pc + p) * o.lda + ic + i0), run, 0, len);
                    for (int i = len; i < padded; i++) run[i] = 0f;
                    for (int ir = 0; ir < padded; ir += MR) {
                        int dst = dst0 + (i0 + ir) * kc + p * MR;
                        for (int r = 0; r < MR; r++) pa[dst + r] = run[ir + r];
                    }
                }
            }
            return;
        }
        // Rows of A are contiguous along k: copy one out, then scatter it with stride MR. Whole
        // panels of 4 rows with 16-float vectors interleave 16 k steps at a time in registers.
        float[] row = ws.row(kc);
        for (int ir = 0; ir < mc; ir += MR) {
            int base = dst0 + ir * kc, mr = Math.min(MR, mc - ir);
            int p0 = mr == MR && PanelInterleave.SUPPORTED ? PanelInterleave.rows(o.a, 4 * (o.aOffset + (long) (ic + ir) * o.lda + pc),
                    4L * o.lda, kc, pa, base) : 0;
            if (p0 == kc) continue;
            for (int r = 0; r < MR; r++) {
                if (r < mr) {
                    long src = o.aOffset + (long) (ic + ir + r) * o.lda + pc;
                    MemorySegment.copy(o.a, F32, 4 * (src + p0), row, 0, kc - p0);
                    for (int p = p0; p < kc; p++) pa[base + p * MR + r] = row[p - p0];
                } else {
                    for (int p = 0; p < kc; p++) pa[base + p * MR + r] = 0f;
                }
            }
        }
    }

    /**
     * Packs op(B)[pc..pc+kc, jc..jc+nc] as NR-column panels, each k-major (NR floats per k step),
     * columns past the edge zero-filled, from index {@code dst0} of {@code pb}.
     */
    static void packB(Operands o, int pc, int kc, int jc, int nc, float[] pb, int dst0, Workspace ws) {
        if (!o.transB) {
            // op(B)[p][j] = B[p][j]: each k step's nc values are one contiguous run of B; copy it
            // once and deal NR-wide pieces out to the panels.
            int padded = roundUp(nc, NR);
            float[] run = ws.row(padded);
            for (int p = 0; p < kc; p++) {
                MemorySegment.copy(o.b, F32, 4 * (o.bOffset + (long) (pc + p) * o.ldb + jc), run, 0, nc);
                for (int j = nc; j < padded; j++) run[j] = 0f;
                for (int jr = 0; jr < nc; jr += NR) System.arraycopy(run, jr, pb, dst0 + jr * kc + p * NR, NR);
            }
            return;
        }
        // op(B)[p][j] = B[j][p]: rows of B are contiguous along k. Transpose in chunks of
        // TRANSPOSE_CHUNK k steps so the scattered writes (stride NR) stay within L1.
        float[] row = ws.row(TRANSPOSE_CHUNK);
        for (int jr = 0; jr < nc; jr += NR) {
            int base = dst0 + jr * kc, nr = Math.min(NR, nc - jr);
            for (int p0 = 0; p0 < kc; p0 += TRANSPOSE_CHUNK) {
                int len = Math.min(TRANSPOSE_CHUNK, kc - p0);
                for (int j = 0; j < NR; j++) {
                    int dst = base + p0 * NR + j;
                    if (j < nr) {
                        long src = o.bOffset + (long) (jc + jr + j) * o.ldb + pc + p0;
                        MemorySegment.copy(o.b, F32, 4 * src, row, 0, len);
                        for (int p = 0; p < len; p++) pb[dst + p * NR] = row[p];
                    } else {
                        for (int p = 0; p < len; p++) pb[dst + p * NR] = 0f;
                    }
                }
            }
        }
    }

    /**
     * Merges an edge tile (already scaled by alpha) into C: {@code C = tile + beta·C}, with masked
     * vector loads and stores so that narrow outputs (e.g. 48-wide attention heads) stay fast.
     */
    private static void merge(float[] tile, int mr, int nr, MemorySegment c, long ci, int ldc, float beta) {
        for (int r = 0; r < mr; r++) {
            long row = 4 * (ci + (long) r * ldc);
            for (int j = 0; j < nr; j += L) {
                VectorMask<Float> mask = S.indexInRange(j, nr);
                FloatVector v = FloatVector.fromArray(S, tile, r * NR + j);
                if (beta != 0f) v = FloatVector.fromMemorySegment(S, c, row + 4L * j, NATIVE, mask).fma(FloatVector.broadcast(S, beta), v);
                v.intoMemorySegment(c, row + 4L * j, NATIVE, mask);
            }
        }
    }

    /** {@code C = beta·C} on a rectangle (the k == 0 case; beta 0 writes zeros even over NaN). */
    private static void scaleC(Operands o, int i0, int i1, int j0, int j1) {
        for (int i = i0; i < i1; i++) {
            long row = o.cOffset + (long) i * o.ldc;
            for (int j = j0; j < j1; j++) {
                float v = o.beta == 0f ? 0f : o.beta * o.c.getAtIndex(F32, row + j);
                o.c.setAtIndex(F32, row + j, v);
            }
        }
    }

    /** Columns of a packed B block for slices {@code kc} deep (whole micro-panels, at least one). */
    static int ncFor(int kc) {
        return Math.max(NR, B_BLOCK / kc / NR * NR);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }
}
