package dev.tandem.tensor;

import static dev.tandem.tensor.Tensor.F32;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Single-precision GEMM, {@code C = alpha·op(A)·op(B) + beta·C}, row-major.
 *
 * <p>op(B) is packed once into a contiguous k×n array so the inner loop streams it with unit
 * stride whatever the transpose; rows of C are split across the worker pool; each row is built
 * 4 vectors wide in registers.
 */
final class Gemm {
    private static final int L = VectorKernels.L;

    private Gemm() {}

    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOffset, int lda, MemorySegment b, long bOffset, int ldb, float beta,
                     MemorySegment c, long cOffset, int ldc) {
        if (m == 0 || n == 0) return;
        float[] pb = packB(transB, k, n, b, bOffset, ldb);
        WorkerPool.get().parallelFor(m, Math.max(1, 8192 / Math.max(1, n)), (i0, i1) -> {
            float[] rowA = new float[k];
            for (int i = i0; i < i1; i++) {
                for (int p = 0; p < k; p++) {
                    rowA[p] = a.getAtIndex(F32, aOffset + (transA ? (long) p * lda + i : (long) i * lda + p));
                }
                rowTimesB(rowA, pb, k, n, alpha, beta, c, cOffset + (long) i * ldc);
            }
        });
    }

    static void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOffset, int lda, long strideA,
                            MemorySegment b, long bOffset, int ldb, long strideB, float beta,
                            MemorySegment c, long cOffset, int ldc, long strideC) {
        WorkerPool.get().parallelFor(batch, 1, (b0, b1) -> {
            for (int i = b0; i < b1; i++) {
                gemm(transA, transB, m, n, k, alpha, a, aOffset + i * strideA, lda, b, bOffset + i * strideB, ldb,
                        beta, c, cOffset + i * strideC, ldc);
            }
        });
    }

    private static float[] packB(boolean transB, int k, int n, MemorySegment b, long off, int ldb) {
        float[] pb = new float[Math.multiplyExact(k, n)];
        for (int p = 0; p < k; p++) {
            if (!transB) {
                MemorySegment.copy(b, F32, (off + (long) p * ldb) * 4, pb, p * n, n);
            } else {
                for (int j = 0; j < n; j++) pb[p * n + j] = b.getAtIndex(F32, off + (long) j * ldb + p);
            }
        }
        return pb;
    }

    private static void rowTimesB(float[] rowA, float[] pb, int k, int n, float alpha, float beta,
                                  MemorySegment c, long cRow) {
        int j = 0;
        for (; j + 4 * L <= n; j += 4 * L) {
            FloatVector c0 = FloatVector.zero(VectorKernels.S);
            FloatVector c1 = c0, c2 = c0, c3 = c0;
            for (int p = 0; p < k; p++) {
                FloatVector av = FloatVector.broadcast(VectorKernels.S, rowA[p]);
                int base = p * n + j;
                c0 = FloatVector.fromArray(VectorKernels.S, pb, base).fma(av, c0);
                c1 = FloatVector.fromArray(VectorKernels.S, pb, base + L).fma(av, c1);
                c2 = FloatVector.fromArray(VectorKernels.S, pb, base + 2 * L).fma(av, c2);
                c3 = FloatVector.fromArray(VectorKernels.S, pb, base + 3 * L).fma(av, c3);
            }
            storeBlock(c0, c, cRow + j, alpha, beta);
            storeBlock(c1, c, cRow + j + L, alpha, beta);
            storeBlock(c2, c, cRow + j + 2 * L, alpha, beta);
            storeBlock(c3, c, cRow + j + 3 * L, alpha, beta);
        }
        for (; j + L <= n; j += L) {
            FloatVector acc = FloatVector.zero(VectorKernels.S);
            for (int p = 0; p < k; p++) acc = FloatVector.fromArray(VectorKernels.S, pb, p * n + j).fma(FloatVector.broadcast(VectorKernels.S, rowA[p]), acc);
            storeBlock(acc, c, cRow + j, alpha, beta);
        }
        for (; j < n; j++) {
            float acc = 0f;
            for (int p = 0; p < k; p++) acc = Math.fma(rowA[p], pb[p * n + j], acc);
            long ci = cRow + j;
            float old = beta == 0f ? 0f : beta * c.getAtIndex(F32, ci);
            c.setAtIndex(F32, ci, alpha * acc + old);
        }
    }

    private static void storeBlock(FloatVector acc, MemorySegment c, long index, float alpha, float beta) {
        FloatVector out = acc.mul(alpha);
        if (beta != 0f) out = VectorKernels.load(c, index).mul(beta).add(out);
        VectorKernels.store(out, c, index);
    }
}
