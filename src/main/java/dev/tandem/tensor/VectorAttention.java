package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast attention kernels: the (sequence, head) problems split across the worker pool, each
 * copied into the task's part of the scratch (its q, k, v and kᵀ contiguous), so that one
 * query's scores are computed against all keys at once from kᵀ (vectorised across keys, no
 * horizontal reductions). The whole causal row fits in cache, so the exact softmax needs no
 * online rescaling. Forward keeps per query what {@link AttentionKernels} says; backward
 * recomputes each probability row from the log-sum-exp (as flash attention does) or reads it,
 * and with kept rows computes them with the same instructions, {@code exp(score − lse)}, so both
 * ways give the same bits.
 */
final class VectorAttention implements AttentionKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final WorkerPool pool;

    VectorAttention(WorkerPool pool) {
        this.pool = pool;
    }

    /**
     * One task's buffers, slices of the caller's scratch: T·d floats each for q .. dv, T for the
     * rows. (A record: the JIT trusts its fields to stay put across the stores of the inner loops.)
     */
    private record Scratch(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment kT, MemorySegment vT, MemorySegment o,
                           MemorySegment dO, MemorySegment dq, MemorySegment dk, MemorySegment dv, MemorySegment row,
                           MemorySegment rowGrad, MemorySegment scores) {
        static Scratch of(MemorySegment all, int task, int t, int d) {
            long td = 4L * t * d, rowBytes = 4L * t;
            MemorySegment m = all.asSlice(task * floatsPerTask(t, d) * 4, floatsPerTask(t, d) * 4);
            return new Scratch(m.asSlice(0, td), m.asSlice(td, td), m.asSlice(2 * td, td), m.asSlice(3 * td, td), m.asSlice(4 * td, td),
                    m.asSlice(5 * td, td), m.asSlice(6 * td, td), m.asSlice(7 * td, td), m.asSlice(8 * td, td), m.asSlice(9 * td, td),
                    m.asSlice(10 * td, rowBytes), m.asSlice(10 * td + rowBytes, rowBytes), m.asSlice(10 * td + 2 * rowBytes, rowBytes));
        }

        static long floatsPerTask(int t, int d) {
            return 10L * t * d + 3L * t;
        }
    }

    @Override
    public long scratchBytes(Shape shape) {
        return 4 * pool.tasks(shape.problems(), 1) * Scratch.floatsPerTask(shape.time(), shape.headDim());
    }

    private void checkScratch(Shape shape, MemorySegment scratch) {
        if (scratch.byteSize() < scratchBytes(shape)) {
            throw new IllegalArgumentException("attention scratch of " + scratch.byteSize() + " bytes, needs " + scratchBytes(shape));
        }
    }

    @Override
    public void forward(Shape shape, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean keep, MemorySegment scratch) {
        checkScratch(shape, scratch);
        int time = shape.time(), heads = shape.heads(), c = shape.channels(), d = shape.headDim();
        float scale = shape.scale();
        pool.parallelTasks(shape.problems(), 1, (taskIndex, t0, t1) -> {
            Scratch s = Scratch.of(scratch, taskIndex, time, d);
            for (int task = t0; task < t1; task++) {
                int b = task / heads, h = task % heads;
                long rowBase = (long) b * time;
                loadHead(s, qkv, rowBase, time, c, h, d);
                for (int i = 0; i < time; i++) {
                    int n = i + 1;
                    float max = scores(s, i, time, d, scale);
                    if (keep) MemorySegment.copy(s.row(), 0, s.scores(), 0, 4L * n);
                    float sum = expShifted(s.row(), n, max);
                    multiply(s.row(), n, 1f / sum);
                    float lse = max + (float) StrictMath.log(sum);
                    long query = (long) task * time + i;
                    if (keep) {
                        expShifted(s.scores(), n, lse); // exactly what backward would recompute
                        MemorySegment.copy(s.scores(), 0, saved, query * time * 4, 4L * n);
                    } else {
                        saved.setAtIndex(F, query, lse);
                    }
                    weightedSum(s.row(), s.v(), n, d, s.o(), i * d);
                }
                copyRows(s.o(), 0, d, out, rowBase * c + h * d, c, time, d);
            }
        });
    }

    @Override
    public void backward(Shape shape, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean kept,
                         MemorySegment dOut, MemorySegment dIn, MemorySegment scratch) {
        checkScratch(shape, scratch);
        int time = shape.time(), heads = shape.heads(), c = shape.channels(), c3 = 3 * c, d = shape.headDim();
        float scale = shape.scale();
        pool.parallelTasks(shape.problems(), 1, (taskIndex, t0, t1) -> {
            Scratch s = Scratch.of(scratch, taskIndex, time, d);
            for (int task = t0; task < t1; task++) {
                int b = task / heads, h = task % heads;
                long rowBase = (long) b * time;
                loadHead(s, qkv, rowBase, time, c, h, d);
                copyRows(out, rowBase * c + h * d, c, s.o(), 0, d, time, d);
                copyRows(dOut, rowBase * c + h * d, c, s.dO(), 0, d, time, d);
                transpose(s.v(), s.vT(), time, d);
                s.dq().fill((byte) 0);
                s.dk().fill((byte) 0);
                s.dv().fill((byte) 0);
                for (int i = 0; i < time; i++) {
                    long query = (long) task * time + i;
                    if (kept) {
                        MemorySegment.copy(saved, query * time * 4, s.row(), 0, 4L * (i + 1));
                    } else {
                        scores(s, i, time, d, scale);
                        expShifted(s.row(), i + 1, saved.getAtIndex(F, query));
                    }
                    float delta = dot(s.dO(), i * d, s.o(), i * d, d);
                    rowTimesTransposed(s.dO(), i * d, s.vT(), time, d, i + 1, s.rowGrad());
                    scoreGradients(s.row(), s.rowGrad(), i + 1, delta, scale);
                    queryGradients(s, i, d);
                }
                accumulate(s.dq(), dIn, rowBase, time, c3, h * d, d);
                accumulate(s.dk(), dIn, rowBase, time, c3, c + h * d, d);
                accumulate(s.dv(), dIn, rowBase, time, c3, 2 * c + h * d, d);
            }
        });
    }

    /** Fills {@code s.row()[0..i]} with query i's scaled scores {@code q·kⱼ/√d}; returns their maximum. */
    private static float scores(Scratch s, int i, int time, int d, float scale) {
        int n = i + 1;
        MemorySegment row = s.row();
        rowTimesTransposed(s.q(), i * d, s.kT(), time, d, n, row);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            float v = row.getAtIndex(F, j) * scale;
            row.setAtIndex(F, j, v);
            max = Math.max(max, v);
        }
        return max;
    }

    private static FloatVector load(MemorySegment m, long index) {
        return FloatVector.fromMemorySegment(S, m, index * 4, NATIVE);
    }

    private static void store(FloatVector v, MemorySegment m, long index) {
        v.intoMemorySegment(m, index * 4, NATIVE);
    }

    /** {@code ds[j] = p[j]·(ds[j] − delta)·scale} for j in [0, n): the scores' gradients, in place of dp. */
    private static void scoreGradients(MemorySegment p, MemorySegment ds, int n, float delta, float scale) {
        for (int j = 0; j < n; j++) ds.setAtIndex(F, j, p.getAtIndex(F, j) * (ds.getAtIndex(F, j) - delta) * scale);
    }

    /** {@code row[j] *= factor} for j in [0, n). */
    private static void multiply(MemorySegment row, int n, float factor) {
        for (int j = 0; j < n; j++) row.setAtIndex(F, j, row.getAtIndex(F, j) * factor);
    }

    /** {@code row[j] = exp(row[j] − shift)} for j in [0, n); returns their sum. */
    private static float expShifted(MemorySegment row, int n, float shift) {
        int j = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; j + L <= n; j += L) {
            FloatVector e = VectorMath.exp(load(row, j).sub(shift));
            store(e, row, j);
            acc = acc.add(e);
        }
        float sum = VectorMath.sum(acc);
        for (; j < n; j++) {
            float e = VectorMath.exp(row.getAtIndex(F, j) - shift);
            row.setAtIndex(F, j, e);
            sum += e;
        }
        return sum;
    }

    /** {@code out[j] = Σ_p x[xOff + p]·mT[p·time + j]} for j in [0, n). */
    private static void rowTimesTransposed(MemorySegment x, int xOff, MemorySegment mT, int time, int d, int n, MemorySegment out) {
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < d; p++) {
                acc = load(mT, (long) p * time + j).fma(FloatVector.broadcast(S, x.getAtIndex(F, xOff + p)), acc);
            }
            store(acc, out, j);
        }
        for (; j < n; j++) {
            float acc = 0f;
            for (int p = 0; p < d; p++) acc = Math.fma(x.getAtIndex(F, xOff + p), mT.getAtIndex(F, (long) p * time + j), acc);
            out.setAtIndex(F, j, acc);
        }
    }

    /**
     * {@code out[oOff ..] = Σ_j w[j]·v[j·d ..]} over j in [0, n), each element accumulated from 0
     * by one fused multiply-add per j in order of j, in registers a vector of columns at a time.
     */
    private static void weightedSum(MemorySegment w, MemorySegment v, int n, int d, MemorySegment out, int oOff) {
        int c = 0;
        if (d >= L) {
            for (; c + L <= d; c += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < n; j++) acc = load(v, (long) j * d + c).fma(FloatVector.broadcast(S, w.getAtIndex(F, j)), acc);
                store(acc, out, oOff + c);
            }
        }
        for (; c < d; c++) {
            float acc = 0f;
            for (int j = 0; j < n; j++) acc = Math.fma(w.getAtIndex(F, j), v.getAtIndex(F, (long) j * d + c), acc);
            out.setAtIndex(F, oOff + c, acc);
        }
    }

    /**
     * Query i's part of the gradients, given its probabilities in {@code s.row()} and its scores'
     * gradients in {@code s.rowGrad()} (j in [0, i]): {@code dq_i += Σ_j ds_j·k_j} (kept in
     * registers across j), {@code dk_j += ds_j·q_i} and {@code dv_j += p_j·dO_i}, each element by
     * one fused multiply-add per j in order of j.
     */
    private static void queryGradients(Scratch s, int i, int d) {
        MemorySegment k = s.k(), dk = s.dk(), dv = s.dv(), ds = s.rowGrad(), p = s.row();
        long qi = (long) i * d;
        int c = 0;
        if (d >= L) {
            for (; c + L <= d; c += L) {
                FloatVector dq = load(s.dq(), qi + c), q = load(s.q(), qi + c), dO = load(s.dO(), qi + c);
                for (int j = 0; j <= i; j++) {
                    long kj = (long) j * d + c;
                    FloatVector dsj = FloatVector.broadcast(S, ds.getAtIndex(F, j));
                    dq = load(k, kj).fma(dsj, dq);
                    store(q.fma(dsj, load(dk, kj)), dk, kj);
                    store(dO.fma(FloatVector.broadcast(S, p.getAtIndex(F, j)), load(dv, kj)), dv, kj);
                }
                store(dq, s.dq(), qi + c);
            }
        }
        for (; c < d; c++) {
            float dq = s.dq().getAtIndex(F, qi + c), q = s.q().getAtIndex(F, qi + c), dO = s.dO().getAtIndex(F, qi + c);
            for (int j = 0; j <= i; j++) {
                long kj = (long) j * d + c;
                float dsj = ds.getAtIndex(F, j);
                dq = Math.fma(dsj, k.getAtIndex(F, kj), dq);
                dk.setAtIndex(F, kj, Math.fma(dsj, q, dk.getAtIndex(F, kj)));
                dv.setAtIndex(F, kj, Math.fma(p.getAtIndex(F, j), dO, dv.getAtIndex(F, kj)));
            }
            s.dq().setAtIndex(F, qi + c, dq);
        }
    }

    private static float dot(MemorySegment x, int xOff, MemorySegment y, int yOff, int n) {
        float acc = 0f;
        for (int i = 0; i < n; i++) acc = Math.fma(x.getAtIndex(F, xOff + i), y.getAtIndex(F, yOff + i), acc);
        return acc;
    }

    private static void transpose(MemorySegment m, MemorySegment mT, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) mT.setAtIndex(F, (long) c * rows + r, m.getAtIndex(F, (long) r * cols + c));
        }
    }

    /** Copies head h's q, k and v of one sequence out of the [time, 3C] qkv rows, and kᵀ. */
    private static void loadHead(Scratch s, MemorySegment qkv, long rowBase, int time, int c, int h, int d) {
        copyRows(qkv, rowBase * 3 * c + h * d, 3 * c, s.q(), 0, d, time, d);
        copyRows(qkv, rowBase * 3 * c + c + h * d, 3 * c, s.k(), 0, d, time, d);
        copyRows(qkv, rowBase * 3 * c + 2 * c + h * d, 3 * c, s.v(), 0, d, time, d);
        transpose(s.k(), s.kT(), time, d);
    }

    /** Copies {@code rows} runs of {@code width} floats, starting {@code srcLd} and {@code dstLd} floats apart. */
    private static void copyRows(MemorySegment src, long srcStart, int srcLd, MemorySegment dst, long dstStart, int dstLd,
                                 int rows, int width) {
        for (int t = 0; t < rows; t++) {
            MemorySegment.copy(src, (srcStart + (long) t * srcLd) * 4, dst, (dstStart + (long) t * dstLd) * 4, 4L * width);
        }
    }

    /** Adds the [time, d] rows of {@code src} into columns {@code col ..} of the [.., ld] rows of {@code dst} from row {@code rowBase}. */
    private static void accumulate(MemorySegment src, MemorySegment dst, long rowBase, int time, int ld, int col, int d) {
        for (int t = 0; t < time; t++) {
            long base = (rowBase + t) * ld + col, from = (long) t * d;
            int p = 0;
            for (; p + L <= d; p += L) store(load(dst, base + p).add(load(src, from + p)), dst, base + p);
            for (; p < d; p++) dst.setAtIndex(F, base + p, dst.getAtIndex(F, base + p) + src.getAtIndex(F, from + p));
        }
    }

    /**
     * One task per head (heads write disjoint columns, so the key gradients need no locks). The
     * head's keys are transposed into the task's buffer once, so that a query's scores against all
     * its visible keys come out a vector of keys at a time, as in {@link #forward}; then an exact
     * softmax over them in float and the online-softmax merge into the running result, as
     * {@link AttentionKernels} states it.
     */
    @Override
    public void blockForward(Block b, MemorySegment q, int ldq, MemorySegment k, MemorySegment v, int ldkv, MemorySegment out,
                             MemorySegment lse) {
        int d = b.headDim(), c = b.channels(), nk = b.keys();
        float scale = b.scale();
        if (nk == 0) return;
        pool.parallelFor(b.heads(), 1, (h0, h1) -> {
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                MemorySegment kT = floats(arena, (long) d * nk), vh = floats(arena, (long) nk * d), row = floats(arena, nk);
                MemorySegment qi = floats(arena, d), o = floats(arena, d);
                for (int h = h0; h < h1; h++) {
                    loadKeys(k, v, ldkv, h * d, nk, d, kT, vh, null);
                    for (int i = 0; i < b.queries(); i++) {
                        int n = b.visible(i);
                        if (n == 0) continue;
                        MemorySegment.copy(q, ((long) i * ldq + h * d) * 4, qi, 0, 4L * d);
                        rowTimesTransposed(qi, 0, kT, nk, d, n, row);
                        float max = Float.NEGATIVE_INFINITY;
                        for (int j = 0; j < n; j++) {
                            float x = row.getAtIndex(F, j) * scale;
                            row.setAtIndex(F, j, x);
                            max = Math.max(max, x);
                        }
                        float sum = expShifted(row, n, max);
                        multiply(row, n, 1f / sum);
                        weightedSum(row, vh, n, d, o, 0);
                        float l = max + (float) StrictMath.log(sum);
                        long at = (long) h * b.queries() + i;
                        float old = lse.getAtIndex(F, at);
                        float merged = old == Float.NEGATIVE_INFINITY ? l
                                : Math.max(old, l) + (float) StrictMath.log1p(StrictMath.exp(-Math.abs(old - l)));
                        float keepOld = old == Float.NEGATIVE_INFINITY ? 0f : (float) StrictMath.exp(old - merged);
                        float takeNew = (float) StrictMath.exp(l - merged);
                        long oi = (long) i * c + h * d;
                        for (int e = 0; e < d; e++) out.setAtIndex(F, oi + e, out.getAtIndex(F, oi + e) * keepOld + o.getAtIndex(F, e) * takeNew);
                        lse.setAtIndex(F, at, merged);
                    }
                }
            }
        });
    }

    @Override
    public void blockBackward(Block b, MemorySegment q, int ldq, MemorySegment k, MemorySegment v, int ldkv, MemorySegment lse,
                              MemorySegment delta, MemorySegment dOut, MemorySegment dq, MemorySegment dk, MemorySegment dv) {
        int d = b.headDim(), c = b.channels(), nk = b.keys();
        float scale = b.scale();
        if (nk == 0) return;
        pool.parallelFor(b.heads(), 1, (h0, h1) -> {
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                MemorySegment kT = floats(arena, (long) d * nk), vT = floats(arena, (long) d * nk), kh = floats(arena, (long) nk * d);
                MemorySegment dkh = floats(arena, (long) nk * d), dvh = floats(arena, (long) nk * d);
                MemorySegment p = floats(arena, nk), ds = floats(arena, nk), qi = floats(arena, d), dOi = floats(arena, d), dqi = floats(arena, d);
                for (int h = h0; h < h1; h++) {
                    loadKeys(k, v, ldkv, h * d, nk, d, kT, kh, vT);
                    dkh.fill((byte) 0);
                    dvh.fill((byte) 0);
                    for (int i = 0; i < b.queries(); i++) {
                        int n = b.visible(i);
                        if (n == 0) continue;
                        long at = (long) h * b.queries() + i;
                        MemorySegment.copy(q, ((long) i * ldq + h * d) * 4, qi, 0, 4L * d);
                        MemorySegment.copy(dOut, ((long) i * c + h * d) * 4, dOi, 0, 4L * d);
                        rowTimesTransposed(qi, 0, kT, nk, d, n, p);
                        for (int j = 0; j < n; j++) p.setAtIndex(F, j, p.getAtIndex(F, j) * scale);
                        expShifted(p, n, lse.getAtIndex(F, at));
                        rowTimesTransposed(dOi, 0, vT, nk, d, n, ds);
                        scoreGradients(p, ds, n, delta.getAtIndex(F, at), scale);
                        blockQueryGradients(p, ds, n, d, kh, dkh, dvh, qi, dOi, dqi);
                        long qRow = (long) i * ldq + h * d;
                        for (int e = 0; e < d; e++) dq.setAtIndex(F, qRow + e, dq.getAtIndex(F, qRow + e) + dqi.getAtIndex(F, e));
                    }
                    for (int j = 0; j < nk; j++) {
                        long kRow = (long) j * ldkv + h * d;
                        for (int e = 0; e < d; e++) {
                            dk.setAtIndex(F, kRow + e, dk.getAtIndex(F, kRow + e) + dkh.getAtIndex(F, (long) j * d + e));
                            dv.setAtIndex(F, kRow + e, dv.getAtIndex(F, kRow + e) + dvh.getAtIndex(F, (long) j * d + e));
                        }
                    }
                }
            }
        });
    }

    private static MemorySegment floats(java.lang.foreign.Arena arena, long n) {
        return arena.allocate(4 * Math.max(1, n), 64);
    }

    /**
     * Head columns {@code [col, col + d)} of the [keys, ldkv] key and value rows: kᵀ [d, keys] into
     * {@code kT}, v [keys, d] (or k, for the backward) into {@code rows}, and vᵀ into {@code vT} when given.
     */
    private static void loadKeys(MemorySegment k, MemorySegment v, int ldkv, int col, int nk, int d, MemorySegment kT,
                                 MemorySegment rows, MemorySegment vT) {
        boolean backward = vT != null;
        for (int j = 0; j < nk; j++) {
            long src = (long) j * ldkv + col;
            MemorySegment.copy(backward ? k : v, src * 4, rows, (long) j * d * 4, 4L * d);
            for (int e = 0; e < d; e++) {
                kT.setAtIndex(F, (long) e * nk + j, k.getAtIndex(F, src + e));
                if (backward) vT.setAtIndex(F, (long) e * nk + j, v.getAtIndex(F, src + e));
            }
        }
    }

    /**
     * One query's part of a block's gradients, as {@link #queryGradients} computes it for the fused
     * kernel: {@code dq = Σ_j ds_j·k_j} (written to {@code dq}, kept in registers across j),
     * {@code dk_j += ds_j·q} and {@code dv_j += p_j·dO}, a vector of columns at a time.
     */
    private static void blockQueryGradients(MemorySegment p, MemorySegment ds, int n, int d, MemorySegment k, MemorySegment dk,
                                            MemorySegment dv, MemorySegment q, MemorySegment dO, MemorySegment dq) {
        int c = 0;
        if (d >= L) {
            for (; c + L <= d; c += L) {
                FloatVector dqv = FloatVector.zero(S), qv = load(q, c), dOv = load(dO, c);
                for (int j = 0; j < n; j++) {
                    long kj = (long) j * d + c;
                    FloatVector dsj = FloatVector.broadcast(S, ds.getAtIndex(F, j));
                    dqv = load(k, kj).fma(dsj, dqv);
                    store(qv.fma(dsj, load(dk, kj)), dk, kj);
                    store(dOv.fma(FloatVector.broadcast(S, p.getAtIndex(F, j)), load(dv, kj)), dv, kj);
                }
                store(dqv, dq, c);
            }
        }
        for (; c < d; c++) {
            float dqs = 0f, qs = q.getAtIndex(F, c), dOs = dO.getAtIndex(F, c);
            for (int j = 0; j < n; j++) {
                long kj = (long) j * d + c;
                float dsj = ds.getAtIndex(F, j);
                dqs = Math.fma(dsj, k.getAtIndex(F, kj), dqs);
                dk.setAtIndex(F, kj, Math.fma(dsj, qs, dk.getAtIndex(F, kj)));
                dv.setAtIndex(F, kj, Math.fma(p.getAtIndex(F, j), dOs, dv.getAtIndex(F, kj)));
            }
            dq.setAtIndex(F, c, dqs);
        }
    }
}
