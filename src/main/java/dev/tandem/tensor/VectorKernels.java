package dev.tandem.tensor;

import static dev.tandem.tensor.Tensor.F32;
import static dev.tandem.tensor.Tensor.I32;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast kernels: Vector API inner loops, rows or chunks split across the rank's {@link WorkerPool}.
 * GEMM lives in {@link Gemm}. Each method computes what the same method of
 * {@link ScalarKernels} defines.
 */
public final class VectorKernels implements Kernels {
    @Override
    public String describe() {
        return "Vector API kernels, " + S.vectorBitSize() + "-bit vectors (" + S.length() + " floats)";
    }

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);
    /** Elements per task below which splitting across threads costs more than it saves. */
    private static final int GRAIN = 1 << 14;

    private final WorkerPool pool;
    private final AttentionKernels attention;
    private final OptimizerKernels optimizer;
    private final ParScaleKernels parScale;
    private final QuantKernels quant = new PanelQuantKernels(this);

    VectorKernels(WorkerPool pool) {
        this.pool = pool;
        this.attention = new VectorAttention(pool);
        this.optimizer = new VectorOptimizerKernels(pool);
        this.parScale = new VectorParScaleKernels(pool);
    }

    @Override
    public WorkerPool pool() {
        return pool;
    }

    @Override
    public AttentionKernels attention() {
        return attention;
    }

    @Override
    public QuantKernels quant() {
        return quant;
    }

    @Override
    public OptimizerKernels optimizer() {
        return optimizer;
    }

    @Override
    public ParScaleKernels parScale() {
        return parScale;
    }

    @Override
    public ReductionKernels reductions() {
        return VectorReductions.INSTANCE;
    }

    static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(S, s, index * 4, NATIVE);
    }

    static void store(FloatVector v, MemorySegment s, long index) {
        v.intoMemorySegment(s, index * 4, NATIVE);
    }

    private static int rowsPerTask(int cols) {
        return Math.max(1, GRAIN / Math.max(1, cols));
    }

    /** Splits {@code [0, n)} into chunks of whole vectors and runs {@code body} on each. */
    private void chunks(long n, WorkerPool.RangeBody body) {
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("too many elements: " + n);
        pool.parallelFor((int) n, GRAIN, body);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOffset, int lda, MemorySegment b, long bOffset, int ldb, float beta,
                     MemorySegment c, long cOffset, int ldc) {
        Gemm.gemm(pool, transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
    }

    @Override
    public void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOffset, int lda, long strideA,
                            MemorySegment b, long bOffset, int ldb, long strideB, float beta,
                            MemorySegment c, long cOffset, int ldc, long strideC) {
        Gemm.gemmBatched(pool, batch, transA, transB, m, n, k, alpha, a, aOffset, lda, strideA, b, bOffset, ldb, strideB,
                beta, c, cOffset, ldc, strideC);
    }

    @Override
    public void add(MemorySegment x, MemorySegment y, MemorySegment out, long n) {
        chunks(n, (from, to) -> {
            int i = from;
            for (; i + L <= to; i += L) store(load(x, i).add(load(y, i)), out, i);
            for (; i < to; i++) out.setAtIndex(F32, i, x.getAtIndex(F32, i) + y.getAtIndex(F32, i));
        });
    }

    @Override
    public void axpy(float alpha, MemorySegment x, MemorySegment y, long n) {
        chunks(n, (from, to) -> {
            int i = from;
            for (; i + L <= to; i += L) store(load(x, i).fma(FloatVector.broadcast(S, alpha), load(y, i)), y, i);
            for (; i < to; i++) y.setAtIndex(F32, i, Math.fma(alpha, x.getAtIndex(F32, i), y.getAtIndex(F32, i)));
        });
    }

    @Override
    public void scale(MemorySegment x, float alpha, long n) {
        chunks(n, (from, to) -> {
            int i = from;
            for (; i + L <= to; i += L) store(load(x, i).mul(alpha), x, i);
            for (; i < to; i++) x.setAtIndex(F32, i, x.getAtIndex(F32, i) * alpha);
        });
    }

    @Override
    public void addRowVector(MemorySegment out, MemorySegment bias, int rows, int cols) {
        pool.parallelFor(rows, rowsPerTask(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * cols;
                int c = 0;
                for (; c + L <= cols; c += L) store(load(out, base + c).add(load(bias, c)), out, base + c);
                for (; c < cols; c++) out.setAtIndex(F32, base + c, out.getAtIndex(F32, base + c) + bias.getAtIndex(F32, c));
            }
        });
    }

    @Override
    public void sumRows(MemorySegment dOut, MemorySegment dBias, int rows, int cols) {
        // Parallel over column blocks so each thread owns its slice of dBias (no reduction races).
        int blocks = (cols + L - 1) / L;
        pool.parallelFor(blocks, Math.max(1, blocks / 64), (b0, b1) -> {
            for (int blk = b0; blk < b1; blk++) {
                int c = blk * L;
                if (c + L <= cols) {
                    FloatVector acc = load(dBias, c);
                    for (int r = 0; r < rows; r++) acc = acc.add(load(dOut, (long) r * cols + c));
                    store(acc, dBias, c);
                } else {
                    for (int cc = c; cc < cols; cc++) {
                        float acc = dBias.getAtIndex(F32, cc);
                        for (int r = 0; r < rows; r++) acc += dOut.getAtIndex(F32, (long) r * cols + cc);
                        dBias.setAtIndex(F32, cc, acc);
                    }
                }
            }
        });
    }

    @Override
    public void geluForward(MemorySegment x, MemorySegment out, long n) {
        chunks(n, (from, to) -> {
            int i = from;
            for (; i + L <= to; i += L) {
                FloatVector v = load(x, i);
                FloatVector u = v.mul(v).mul(v).mul(0.044715f).add(v).mul(GELU_C);
                FloatVector t = VectorMath.tanh(u);
                store(v.mul(0.5f).mul(t.add(1f)), out, i);
            }
            for (; i < to; i++) out.setAtIndex(F32, i, geluScalar(x.getAtIndex(F32, i)));
        });
    }

    private static float geluScalar(float v) {
        float u = GELU_C * (v + 0.044715f * v * v * v);
        return 0.5f * v * (1f + VectorMath.tanh(u));
    }

    private static float geluGradScalar(float v) {
        float u = GELU_C * (v + 0.044715f * v * v * v);
        float t = VectorMath.tanh(u);
        float du = GELU_C * (1f + 3f * 0.044715f * v * v);
        return 0.5f * (1f + t) + 0.5f * v * (1f - t * t) * du;
    }

    @Override
    public void geluBackward(MemorySegment x, MemorySegment dOut, MemorySegment dx, long n) {
        chunks(n, (from, to) -> {
            int i = from;
            for (; i + L <= to; i += L) {
                FloatVector v = load(x, i);
                FloatVector v2 = v.mul(v);
                FloatVector u = v2.mul(v).mul(0.044715f).add(v).mul(GELU_C);
                FloatVector t = VectorMath.tanh(u);
                FloatVector du = v2.mul(3f * 0.044715f).add(1f).mul(GELU_C);
                FloatVector oneMinusT2 = t.mul(t).neg().add(1f);
                FloatVector grad = t.add(1f).mul(0.5f).add(v.mul(0.5f).mul(oneMinusT2).mul(du));
                store(grad.fma(load(dOut, i), load(dx, i)), dx, i);
            }
            for (; i < to; i++) {
                dx.setAtIndex(F32, i, dx.getAtIndex(F32, i) + geluGradScalar(x.getAtIndex(F32, i)) * dOut.getAtIndex(F32, i));
            }
        });
    }

    static float rowMax(MemorySegment x, long base, int cols) {
        int c = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (cols >= L) {
            FloatVector m = load(x, base);
            for (c = L; c + L <= cols; c += L) m = m.max(load(x, base + c));
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; c < cols; c++) max = Math.max(max, x.getAtIndex(F32, base + c));
        return max;
    }

    /** Writes exp(x − shift) to out (which may alias x) and returns the sum. */
    static float expShiftSum(MemorySegment x, MemorySegment out, long base, int cols, float shift) {
        int c = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; c + L <= cols; c += L) {
            FloatVector e = VectorMath.exp(load(x, base + c).sub(shift));
            store(e, out, base + c);
            acc = acc.add(e);
        }
        float sum = VectorMath.sum(acc);
        for (; c < cols; c++) {
            float e = VectorMath.exp(x.getAtIndex(F32, base + c) - shift);
            out.setAtIndex(F32, base + c, e);
            sum += e;
        }
        return sum;
    }

    static void scaleRow(MemorySegment x, long base, int cols, float alpha) {
        int c = 0;
        for (; c + L <= cols; c += L) store(load(x, base + c).mul(alpha), x, base + c);
        for (; c < cols; c++) x.setAtIndex(F32, base + c, x.getAtIndex(F32, base + c) * alpha);
    }

    @Override
    public void softmaxRows(MemorySegment x, MemorySegment out, int rows, int cols) {
        pool.parallelFor(rows, rowsPerTask(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * cols;
                float max = rowMax(x, base, cols);
                float sum = expShiftSum(x, out, base, cols, max);
                scaleRow(out, base, cols, 1f / sum);
            }
        });
    }

    @Override
    public void layerNormForward(MemorySegment x, MemorySegment weight, MemorySegment bias, MemorySegment out,
                                 MemorySegment mean, MemorySegment rstd, int rows, int cols, float eps) {
        pool.parallelFor(rows, rowsPerTask(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * cols;
                int c = 0;
                FloatVector acc = FloatVector.zero(S);
                for (; c + L <= cols; c += L) acc = acc.add(load(x, base + c));
                float s = VectorMath.sum(acc);
                for (; c < cols; c++) s += x.getAtIndex(F32, base + c);
                float mu = s / cols;
                // Two-pass variance: no catastrophic cancellation for rows with a large mean.
                acc = FloatVector.zero(S);
                for (c = 0; c + L <= cols; c += L) {
                    FloatVector d = load(x, base + c).sub(mu);
                    acc = d.fma(d, acc);
                }
                float var = VectorMath.sum(acc);
                for (; c < cols; c++) {
                    float d = x.getAtIndex(F32, base + c) - mu;
                    var += d * d;
                }
                float rs = (float) (1.0 / Math.sqrt(var / cols + eps));
                for (c = 0; c + L <= cols; c += L) {
                    FloatVector y = load(x, base + c).sub(mu).mul(rs).fma(load(weight, c), load(bias, c));
                    store(y, out, base + c);
                }
                for (; c < cols; c++) {
                    float y = (x.getAtIndex(F32, base + c) - mu) * rs * weight.getAtIndex(F32, c) + bias.getAtIndex(F32, c);
                    out.setAtIndex(F32, base + c, y);
                }
                mean.setAtIndex(F32, r, mu);
                rstd.setAtIndex(F32, r, rs);
            }
        });
    }

    @Override
    public void layerNormBackward(MemorySegment dOut, MemorySegment x, MemorySegment weight,
                                  MemorySegment mean, MemorySegment rstd,
                                  MemorySegment dx, MemorySegment dWeight, MemorySegment dBias, int rows, int cols) {
        // dx rows are independent; dWeight/dBias are reduced over rows per task into private
        // buffers and summed afterwards in a fixed order, so the result is deterministic.
        int threads = pool.threads();
        int per = Math.max(rowsPerTask(cols), (rows + threads - 1) / threads);
        int tasks = (rows + per - 1) / per;
        float[][] partW = new float[tasks][cols];
        float[][] partB = new float[tasks][cols];
        pool.parallelFor(tasks, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                float[] pw = partW[t];
                float[] pb = partB[t];
                int rEnd = Math.min(rows, (t + 1) * per);
                for (int r = t * per; r < rEnd; r++) layerNormBackwardRow(dOut, x, weight, mean, rstd, dx, pw, pb, r, cols);
            }
        });
        for (int t = 0; t < tasks; t++) {
            for (int c = 0; c < cols; c++) {
                dWeight.setAtIndex(F32, c, dWeight.getAtIndex(F32, c) + partW[t][c]);
                dBias.setAtIndex(F32, c, dBias.getAtIndex(F32, c) + partB[t][c]);
            }
        }
    }

    private static void layerNormBackwardRow(MemorySegment dOut, MemorySegment x, MemorySegment weight,
                                             MemorySegment mean, MemorySegment rstd, MemorySegment dx,
                                             float[] dWeight, float[] dBias, int r, int cols) {
        long base = (long) r * cols;
        float mu = mean.getAtIndex(F32, r);
        float rs = rstd.getAtIndex(F32, r);
        FloatVector accDy = FloatVector.zero(S);
        FloatVector accDyXhat = FloatVector.zero(S);
        int c = 0;
        for (; c + L <= cols; c += L) {
            FloatVector g = load(dOut, base + c);
            FloatVector xhat = load(x, base + c).sub(mu).mul(rs);
            FloatVector dy = g.mul(load(weight, c));
            accDy = accDy.add(dy);
            accDyXhat = dy.fma(xhat, accDyXhat);
            FloatVector.fromArray(S, dWeight, c).add(g.mul(xhat)).intoArray(dWeight, c);
            FloatVector.fromArray(S, dBias, c).add(g).intoArray(dBias, c);
        }
        float sDy = VectorMath.sum(accDy);
        float sDyXhat = VectorMath.sum(accDyXhat);
        for (; c < cols; c++) {
            float g = dOut.getAtIndex(F32, base + c);
            float xhat = (x.getAtIndex(F32, base + c) - mu) * rs;
            float dy = g * weight.getAtIndex(F32, c);
            sDy += dy;
            sDyXhat += dy * xhat;
            dWeight[c] += g * xhat;
            dBias[c] += g;
        }
        float meanDy = sDy / cols;
        float meanDyXhat = sDyXhat / cols;
        for (c = 0; c + L <= cols; c += L) {
            FloatVector xhat = load(x, base + c).sub(mu).mul(rs);
            FloatVector dy = load(dOut, base + c).mul(load(weight, c));
            FloatVector d = dy.sub(meanDy).sub(xhat.mul(meanDyXhat)).mul(rs);
            store(d.add(load(dx, base + c)), dx, base + c);
        }
        for (; c < cols; c++) {
            float xhat = (x.getAtIndex(F32, base + c) - mu) * rs;
            float dy = dOut.getAtIndex(F32, base + c) * weight.getAtIndex(F32, c);
            dx.setAtIndex(F32, base + c, dx.getAtIndex(F32, base + c) + (dy - meanDy - xhat * meanDyXhat) * rs);
        }
    }

    /** Σ exp(x − shift) over a row without writing anything. */
    private static float sumExp(MemorySegment x, long base, int cols, float shift) {
        int c = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; c + L <= cols; c += L) acc = acc.add(VectorMath.exp(load(x, base + c).sub(shift)));
        float sum = VectorMath.sum(acc);
        for (; c < cols; c++) sum += VectorMath.exp(x.getAtIndex(F32, base + c) - shift);
        return sum;
    }

    @Override
    public void crossEntropyForward(MemorySegment logits, MemorySegment targets, MemorySegment losses,
                                    MemorySegment logSumExp, int rows, int vocab) {
        pool.parallelFor(rows, rowsPerTask(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * vocab;
                float max = rowMax(logits, base, vocab);
                float lse = max + (float) StrictMath.log(sumExp(logits, base, vocab, max));
                int t = targets.getAtIndex(I32, r);
                logSumExp.setAtIndex(F32, r, lse);
                losses.setAtIndex(F32, r, t < 0 ? 0f : lse - logits.getAtIndex(F32, base + t));
            }
        });
    }

    @Override
    public void crossEntropyBackward(MemorySegment logits, MemorySegment targets, MemorySegment logSumExp, int firstClass,
                                     float scale, MemorySegment dLogits, int rows, int vocab) {
        pool.parallelFor(rows, rowsPerTask(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * vocab;
                int t = targets.getAtIndex(I32, r);
                if (t < 0) {
                    dLogits.asSlice(base * 4, (long) vocab * 4).fill((byte) 0);
                    continue;
                }
                float lse = logSumExp.getAtIndex(F32, r);
                int c = 0;
                for (; c + L <= vocab; c += L) {
                    store(VectorMath.exp(load(logits, base + c).sub(lse)).mul(scale), dLogits, base + c);
                }
                for (; c < vocab; c++) {
                    dLogits.setAtIndex(F32, base + c, VectorMath.exp(logits.getAtIndex(F32, base + c) - lse) * scale);
                }
                t -= firstClass;
                if (t < vocab && t >= 0) dLogits.setAtIndex(F32, base + t, dLogits.getAtIndex(F32, base + t) - scale);
            }
        });
    }

    @Override
    public void embeddingForward(MemorySegment table, MemorySegment ids, MemorySegment out, int rows, int dim) {
        pool.parallelFor(rows, rowsPerTask(dim), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long src = (long) ids.getAtIndex(I32, r) * dim;
                MemorySegment.copy(table, src * 4, out, (long) r * dim * 4, (long) dim * 4);
            }
        });
    }

    @Override
    public void embeddingBackward(MemorySegment dOut, MemorySegment ids, MemorySegment dTable, int rows, int dim) {
        // Several rows may hit the same id: split by columns, so each thread owns a column range
        // of every table row, and rows are added in order (deterministic).
        int blocks = (dim + L - 1) / L;
        pool.parallelFor(blocks, Math.max(1, blocks / 8), (b0, b1) -> {
            int c0 = b0 * L;
            int c1 = Math.min(dim, b1 * L);
            for (int r = 0; r < rows; r++) {
                long dst = (long) ids.getAtIndex(I32, r) * dim;
                long src = (long) r * dim;
                int c = c0;
                for (; c + L <= c1; c += L) store(load(dTable, dst + c).add(load(dOut, src + c)), dTable, dst + c);
                for (; c < c1; c++) dTable.setAtIndex(F32, dst + c, dTable.getAtIndex(F32, dst + c) + dOut.getAtIndex(F32, src + c));
            }
        });
    }

    @Override
    public double sum(MemorySegment x, long n) {
        double s = 0;
        long i = 0;
        for (; i + L <= n; i += L) s += VectorMath.sum(load(x, i));
        for (; i < n; i++) s += x.getAtIndex(F32, i);
        return s;
    }

    @Override
    public float max(MemorySegment x, long n) {
        float m = Float.NEGATIVE_INFINITY;
        long i = 0;
        if (n >= L) {
            FloatVector v = load(x, 0);
            for (i = L; i + L <= n; i += L) v = v.max(load(x, i));
            m = v.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x.getAtIndex(F32, i));
        return m;
    }

    @Override
    public double squaredNorm(MemorySegment x, long n) {
        // Per-vector float partial sums folded into a double: accurate for the sizes of a model.
        double s = 0;
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = load(x, i);
            s += VectorMath.sum(v.mul(v));
        }
        for (; i < n; i++) {
            float v = x.getAtIndex(F32, i);
            s += (double) v * v;
        }
        return s;
    }
}
