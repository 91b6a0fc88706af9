package dev.tandem.tensor;

import static dev.tandem.tensor.Tensor.F32;
import static dev.tandem.tensor.Tensor.I32;

import java.lang.foreign.MemorySegment;

/**
 * The reference kernels: one plain loop per definition, accumulating in double. Slow on
 * purpose; they exist so that every fast kernel has an obviously correct twin to be tested
 * against.
 */
public final class ScalarKernels implements Kernels {
    @Override
    public String describe() {
        return "scalar reference kernels (plain loops, double accumulation)";
    }

    static final ScalarKernels INSTANCE = new ScalarKernels();

    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);

    private ScalarKernels() {}

    @Override
    public WorkerPool pool() {
        return WorkerPool.SERIAL;
    }

    @Override
    public AttentionKernels attention() {
        return ScalarAttention.INSTANCE;
    }

    @Override
    public QuantKernels quant() {
        return ScalarQuantKernels.INSTANCE;
    }

    @Override
    public OptimizerKernels optimizer() {
        return ScalarOptimizerKernels.INSTANCE;
    }

    @Override
    public ParScaleKernels parScale() {
        return ScalarParScaleKernels.INSTANCE;
    }

    @Override
    public ReductionKernels reductions() {
        return ScalarReductions.INSTANCE;
    }

    private static float f(MemorySegment s, long i) {
        return s.getAtIndex(F32, i);
    }

    private static void put(MemorySegment s, long i, double v) {
        s.setAtIndex(F32, i, (float) v);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOffset, int lda, MemorySegment b, long bOffset, int ldb, float beta,
                     MemorySegment c, long cOffset, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    double av = f(a, aOffset + (transA ? (long) p * lda + i : (long) i * lda + p));
                    double bv = f(b, bOffset + (transB ? (long) j * ldb + p : (long) p * ldb + j));
                    acc += av * bv;
                }
                long ci = cOffset + (long) i * ldc + j;
                double old = beta == 0f ? 0 : beta * (double) f(c, ci);
                put(c, ci, alpha * acc + old);
            }
        }
    }

    @Override
    public void add(MemorySegment x, MemorySegment y, MemorySegment out, long n) {
        for (long i = 0; i < n; i++) put(out, i, (double) f(x, i) + f(y, i));
    }

    @Override
    public void axpy(float alpha, MemorySegment x, MemorySegment y, long n) {
        for (long i = 0; i < n; i++) put(y, i, f(y, i) + (double) alpha * f(x, i));
    }

    @Override
    public void scale(MemorySegment x, float alpha, long n) {
        for (long i = 0; i < n; i++) put(x, i, (double) f(x, i) * alpha);
    }

    @Override
    public void addRowVector(MemorySegment out, MemorySegment bias, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long i = (long) r * cols + c;
                put(out, i, (double) f(out, i) + f(bias, c));
            }
        }
    }

    @Override
    public void sumRows(MemorySegment dOut, MemorySegment dBias, int rows, int cols) {
        for (int c = 0; c < cols; c++) {
            double acc = f(dBias, c);
            for (int r = 0; r < rows; r++) acc += f(dOut, (long) r * cols + c);
            put(dBias, c, acc);
        }
    }

    @Override
    public void geluForward(MemorySegment x, MemorySegment out, long n) {
        for (long i = 0; i < n; i++) {
            double v = f(x, i);
            put(out, i, 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v))));
        }
    }

    @Override
    public void geluBackward(MemorySegment x, MemorySegment dOut, MemorySegment dx, long n) {
        for (long i = 0; i < n; i++) {
            double v = f(x, i);
            double u = GELU_C * (v + 0.044715 * v * v * v);
            double t = Math.tanh(u);
            double du = GELU_C * (1 + 3 * 0.044715 * v * v);
            double grad = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du;
            put(dx, i, f(dx, i) + grad * f(dOut, i));
        }
    }

    @Override
    public void softmaxRows(MemorySegment x, MemorySegment out, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) max = Math.max(max, f(x, base + c));
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += Math.exp(f(x, base + c) - max);
            for (int c = 0; c < cols; c++) put(out, base + c, Math.exp(f(x, base + c) - max) / sum);
        }
    }

    @Override
    public void layerNormForward(MemorySegment x, MemorySegment weight, MemorySegment bias, MemorySegment out,
                                 MemorySegment mean, MemorySegment rstd, int rows, int cols, float eps) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            double mu = 0;
            for (int c = 0; c < cols; c++) mu += f(x, base + c);
            mu /= cols;
            double var = 0;
            for (int c = 0; c < cols; c++) {
                double d = f(x, base + c) - mu;
                var += d * d;
            }
            var /= cols;
            double rs = 1.0 / Math.sqrt(var + eps);
            for (int c = 0; c < cols; c++) {
                put(out, base + c, (f(x, base + c) - mu) * rs * f(weight, c) + f(bias, c));
            }
            put(mean, r, mu);
            put(rstd, r, rs);
        }
    }

    @Override
    public void layerNormBackward(MemorySegment dOut, MemorySegment x, MemorySegment weight,
                                  MemorySegment mean, MemorySegment rstd,
                                  MemorySegment dx, MemorySegment dWeight, MemorySegment dBias, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            double mu = f(mean, r);
            double rs = f(rstd, r);
            double meanDy = 0;
            double meanDyXhat = 0;
            for (int c = 0; c < cols; c++) {
                double xhat = (f(x, base + c) - mu) * rs;
                double dy = (double) f(dOut, base + c) * f(weight, c);
                meanDy += dy;
                meanDyXhat += dy * xhat;
            }
            meanDy /= cols;
            meanDyXhat /= cols;
            for (int c = 0; c < cols; c++) {
                double xhat = (f(x, base + c) - mu) * rs;
                double g = f(dOut, base + c);
                double dy = g * f(weight, c);
                put(dx, base + c, f(dx, base + c) + (dy - meanDy - xhat * meanDyXhat) * rs);
                put(dWeight, c, f(dWeight, c) + g * xhat);
                put(dBias, c, f(dBias, c) + g);
            }
        }
    }

    @Override
    public void crossEntropyForward(MemorySegment logits, MemorySegment targets, MemorySegment losses,
                                    MemorySegment logSumExp, int rows, int vocab) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) max = Math.max(max, f(logits, base + v));
            double sum = 0;
            for (int v = 0; v < vocab; v++) sum += Math.exp(f(logits, base + v) - max);
            double lse = max + Math.log(sum);
            int t = targets.getAtIndex(I32, r);
            put(logSumExp, r, lse);
            put(losses, r, t < 0 ? 0 : lse - f(logits, base + t));
        }
    }

    @Override
    public void crossEntropyBackward(MemorySegment logits, MemorySegment targets, MemorySegment logSumExp, int firstClass,
                                     float scale, MemorySegment dLogits, int rows, int vocab) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * vocab;
            int t = targets.getAtIndex(I32, r);
            double lse = f(logSumExp, r);
            for (int v = 0; v < vocab; v++) {
                double p = t < 0 ? 0 : Math.exp(f(logits, base + v) - lse);
                put(dLogits, base + v, scale * (p - (t >= 0 && firstClass + v == t ? 1 : 0)));
            }
        }
    }

    @Override
    public void embeddingForward(MemorySegment table, MemorySegment ids, MemorySegment out, int rows, int dim) {
        for (int r = 0; r < rows; r++) {
            long src = (long) ids.getAtIndex(I32, r) * dim;
            for (int c = 0; c < dim; c++) put(out, (long) r * dim + c, f(table, src + c));
        }
    }

    @Override
    public void embeddingBackward(MemorySegment dOut, MemorySegment ids, MemorySegment dTable, int rows, int dim) {
        for (int r = 0; r < rows; r++) {
            long dst = (long) ids.getAtIndex(I32, r) * dim;
            for (int c = 0; c < dim; c++) put(dTable, dst + c, (double) f(dTable, dst + c) + f(dOut, (long) r * dim + c));
        }
    }

    @Override
    public double sum(MemorySegment x, long n) {
        double s = 0;
        for (long i = 0; i < n; i++) s += f(x, i);
        return s;
    }

    @Override
    public float max(MemorySegment x, long n) {
        float m = Float.NEGATIVE_INFINITY;
        for (long i = 0; i < n; i++) m = Math.max(m, f(x, i));
        return m;
    }

    @Override
    public double squaredNorm(MemorySegment x, long n) {
        double s = 0;
        for (long i = 0; i < n; i++) {
            double v = f(x, i);
            s += v * v;
        }
        return s;
    }
}
