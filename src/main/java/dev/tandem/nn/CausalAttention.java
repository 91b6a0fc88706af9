package dev.tandem.nn;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.VectorMath;
import dev.tandem.tensor.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal multi-head self-attention core, {@code softmax(q·kᵀ/√d)·v}. By default (selective
 * recomputation) it never stores the T×T probability matrix: the forward pass keeps one
 * log-sum-exp per (batch, head, query) and the backward pass recomputes each probability row
 * from it (as flash attention does). Working memory is one score row and one head's q, k, v
 * (O(T·d)) per thread, so activation memory grows linearly with T. Without recomputation
 * ({@link Ops#keepsAttentionProbabilities}) the forward pass stores the probability rows the
 * backward pass would compute, {@code exp(score − lse)}, with the same arithmetic, so both ways
 * give the same bits; the T×T matrix per head is the memory this costs.
 *
 * <p>Scores for one query are computed against all keys at once from kᵀ (vectorised across
 * keys, no horizontal reductions); the whole causal row fits in cache, so the exact softmax needs
 * no online rescaling.
 */
final class CausalAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private CausalAttention() {}

    /** Per-thread buffers for one (batch, head). */
    private static final class Scratch {
        final float[] q, k, v, kT, vT, o, dO, dq, dk, dv, row, rowGrad, scores;

        Scratch(int t, int d) {
            q = new float[t * d];
            k = new float[t * d];
            v = new float[t * d];
            kT = new float[d * t];
            vT = new float[d * t];
            o = new float[t * d];
            dO = new float[t * d];
            dq = new float[t * d];
            dk = new float[t * d];
            dv = new float[t * d];
            row = new float[t];
            rowGrad = new float[t];
            scores = new float[t];
        }
    }

    /**
     * @param qkv [batch·time, 3·C] (q | k | v, heads contiguous within each)
     * @return y [batch·time, C] with heads merged
     */
    static Var forward(Ops ops, Var qkv, int batch, int time, int heads) {
        Tape tape = ops.tape();
        int c3 = qkv.value().dim(1), c = c3 / 3, d = c / heads;
        Var y = tape.activation(batch * time, c);
        // Saved for backward: the probabilities (row (b, h, i) holds query i's in its first i + 1
        // columns) when they are kept, else one log-sum-exp per query.
        boolean keep = ops.keepsAttentionProbabilities();
        Tensor saved = keep ? tape.scratch(DType.F32, batch * heads * time, time) : tape.scratch(DType.F32, batch * heads * time);
        float scale = (float) (1.0 / Math.sqrt(d));
        MemorySegment in = qkv.value().data(), out = y.value().data(), savedSeg = saved.data();
        WorkerPool.get().parallelFor(batch * heads, 1, (t0, t1) -> {
            Scratch s = new Scratch(time, d);
            for (int task = t0; task < t1; task++) {
                int b = task / heads, h = task % heads;
                long rowBase = (long) b * time;
                loadHead(s, in, rowBase, time, c, h, d);
                for (int i = 0; i < time; i++) {
                    int n = i + 1;
                    float max = scores(s, i, time, d, scale);
                    if (keep) System.arraycopy(s.row, 0, s.scores, 0, n);
                    float sum = expShifted(s.row, n, max);
                    float inv = 1f / sum;
                    for (int j = 0; j < n; j++) s.row[j] *= inv;
                    float lse = max + (float) StrictMath.log(sum);
                    long query = (long) task * time + i;
                    if (keep) {
                        expShifted(s.scores, n, lse); // exactly what backward would recompute
                        MemorySegment.copy(s.scores, 0, savedSeg, F, query * time * 4, n);
                    } else {
                        savedSeg.setAtIndex(F, query, lse);
                    }
                    java.util.Arrays.fill(s.o, i * d, i * d + d, 0f);
                    for (int j = 0; j < n; j++) axpy(s.row[j], s.v, j * d, s.o, i * d, d);
                }
                store(s.o, out, rowBase, time, c, h * d, d);
            }
        });
        ops.tape().onBackward(y, () -> backward(qkv, y, saved, keep, batch, time, heads));
        return y;
    }

    private static void backward(Var qkv, Var y, Tensor saved, boolean kept, int batch, int time, int heads) {
        int c3 = qkv.value().dim(1), c = c3 / 3, d = c / heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        MemorySegment in = qkv.value().data(), dIn = qkv.grad().data();
        MemorySegment out = y.value().data(), dOut = y.grad().data(), savedSeg = saved.data();
        WorkerPool.get().parallelFor(batch * heads, 1, (t0, t1) -> {
            Scratch s = new Scratch(time, d);
            for (int task = t0; task < t1; task++) {
                int b = task / heads, h = task % heads;
                long rowBase = (long) b * time;
                loadHead(s, in, rowBase, time, c, h, d);
                load(out, rowBase, time, c, h * d, d, s.o);
                load(dOut, rowBase, time, c, h * d, d, s.dO);
                transpose(s.v, s.vT, time, d);
                java.util.Arrays.fill(s.dq, 0f);
                java.util.Arrays.fill(s.dk, 0f);
                java.util.Arrays.fill(s.dv, 0f);
                for (int i = 0; i < time; i++) {
                    long query = (long) task * time + i;
                    if (kept) {
                        MemorySegment.copy(savedSeg, F, query * time * 4, s.row, 0, i + 1);
                    } else {
                        scores(s, i, time, d, scale);
                        expShifted(s.row, i + 1, savedSeg.getAtIndex(F, query));
                    }
                    float delta = dot(s.dO, i * d, s.o, i * d, d);
                    rowTimesTransposed(s.dO, i * d, s.vT, time, d, i + 1, s.rowGrad);
                    for (int j = 0; j <= i; j++) {
                        float p = s.row[j];
                        float ds = p * (s.rowGrad[j] - delta) * scale;
                        axpy(ds, s.k, j * d, s.dq, i * d, d);
                        axpy(ds, s.q, i * d, s.dk, j * d, d);
                        axpy(p, s.dO, i * d, s.dv, j * d, d);
                    }
                }
                accumulate(s.dq, dIn, rowBase, time, c3, h * d, d);
                accumulate(s.dk, dIn, rowBase, time, c3, c + h * d, d);
                accumulate(s.dv, dIn, rowBase, time, c3, 2 * c + h * d, d);
            }
        });
    }

    /** Fills {@code s.row[0..i]} with query i's scaled scores {@code q·kⱼ/√d}; returns their maximum. */
    private static float scores(Scratch s, int i, int time, int d, float scale) {
        int n = i + 1;
        rowTimesTransposed(s.q, i * d, s.kT, time, d, n, s.row);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            s.row[j] *= scale;
            max = Math.max(max, s.row[j]);
        }
        return max;
    }

    /** {@code row[j] = exp(row[j] − shift)} for j in [0, n); returns their sum. */
    private static float expShifted(float[] row, int n, float shift) {
        int j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; j + L <= n; j += L) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, row, j).sub(shift));
            e.intoArray(row, j);
            acc = acc.add(e);
        }
        float sum = VectorMath.sum(acc);
        for (; j < n; j++) {
            row[j] = VectorMath.exp(row[j] - shift);
            sum += row[j];
        }
        return sum;
    }

    /** {@code out[j] = Σ_p x[xOff + p]·mT[p·time + j]} for j in [0, n). */
    private static void rowTimesTransposed(float[] x, int xOff, float[] mT, int time, int d, int n, float[] out) {
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < d; p++) {
                acc = FloatVector.fromArray(S, mT, p * time + j).fma(FloatVector.broadcast(S, x[xOff + p]), acc);
            }
            acc.intoArray(out, j);
        }
        for (; j < n; j++) {
            float acc = 0f;
            for (int p = 0; p < d; p++) acc = Math.fma(x[xOff + p], mT[p * time + j], acc);
            out[j] = acc;
        }
    }

    private static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (; i + L <= n; i += L) {
                FloatVector.fromArray(S, x, xOff + i).fma(av, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) y[yOff + i] = Math.fma(a, x[xOff + i], y[yOff + i]);
    }

    private static float dot(float[] x, int xOff, float[] y, int yOff, int n) {
        float acc = 0f;
        for (int i = 0; i < n; i++) acc = Math.fma(x[xOff + i], y[yOff + i], acc);
        return acc;
    }

    private static void transpose(float[] m, float[] mT, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) mT[c * rows + r] = m[r * cols + c];
        }
    }

    /** Copies head h's q, k and v of one sequence out of the [time, 3C] qkv rows, and kᵀ. */
    private static void loadHead(Scratch s, MemorySegment qkv, long rowBase, int time, int c, int h, int d) {
        load(qkv, rowBase, time, 3 * c, h * d, d, s.q);
        load(qkv, rowBase, time, 3 * c, c + h * d, d, s.k);
        load(qkv, rowBase, time, 3 * c, 2 * c + h * d, d, s.v);
        transpose(s.k, s.kT, time, d);
    }

    private static void load(MemorySegment src, long rowBase, int time, int ld, int col, int d, float[] dst) {
        for (int t = 0; t < time; t++) {
            MemorySegment.copy(src, F, ((rowBase + t) * ld + col) * 4, dst, t * d, d);
        }
    }

    private static void store(float[] src, MemorySegment dst, long rowBase, int time, int ld, int col, int d) {
        for (int t = 0; t < time; t++) {
            MemorySegment.copy(src, t * d, dst, F, ((rowBase + t) * ld + col) * 4, d);
        }
    }

    private static void accumulate(float[] src, MemorySegment dst, long rowBase, int time, int ld, int col, int d) {
        for (int t = 0; t < time; t++) {
            long base = (rowBase + t) * ld + col;
            for (int p = 0; p < d; p++) dst.setAtIndex(F, base + p, dst.getAtIndex(F, base + p) + src[t * d + p]);
        }
    }
}
