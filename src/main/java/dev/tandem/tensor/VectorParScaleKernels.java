package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast ParScale ops: float32, vectorised along the hidden dimension (weighted sum) or the
 * elements (SiLU), rows or chunks split across the worker pool. exp and lane sums come from
 * {@link VectorMath}, and every tail repeats its vector body's operations, so results are the
 * same bits in every JIT tier and wherever a chunk boundary falls (training stays reproducible).
 * The smoothing of the P aggregation weights per token is too small to vectorise.
 */
final class VectorParScaleKernels implements ParScaleKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Elements per task below which splitting across threads costs more than it saves. */
    private static final int GRAIN = 1 << 14;

    private final WorkerPool pool;

    VectorParScaleKernels(WorkerPool pool) {
        this.pool = pool;
    }

    @Override
    public void silu(MemorySegment a, MemorySegment y, long n) {
        pool.parallelFor(Math.toIntExact(n), GRAIN, (from, to) -> {
            int i = from;
            for (; i + S.length() <= to; i += S.length()) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, (long) i * 4, NATIVE);
                x.div(VectorMath.exp(x.neg()).add(1f)).intoMemorySegment(y, (long) i * 4, NATIVE);
            }
            for (; i < to; i++) {
                float x = a.getAtIndex(F, i);
                y.setAtIndex(F, i, x / (VectorMath.exp(-x) + 1f));
            }
        });
    }

    @Override
    public void siluBackward(MemorySegment a, MemorySegment dy, MemorySegment da, long n) {
        pool.parallelFor(Math.toIntExact(n), GRAIN, (from, to) -> {
            int i = from;
            for (; i + S.length() <= to; i += S.length()) {
                long off = (long) i * 4;
                FloatVector x = FloatVector.fromMemorySegment(S, a, off, NATIVE);
                FloatVector s = FloatVector.broadcast(S, 1f).div(VectorMath.exp(x.neg()).add(1f));
                FloatVector d = s.mul(x.mul(s.neg().add(1f)).add(1f)).mul(FloatVector.fromMemorySegment(S, dy, off, NATIVE));
                FloatVector.fromMemorySegment(S, da, off, NATIVE).add(d).intoMemorySegment(da, off, NATIVE);
            }
            for (; i < to; i++) {
                float x = a.getAtIndex(F, i), s = 1f / (VectorMath.exp(-x) + 1f);
                da.setAtIndex(F, i, da.getAtIndex(F, i) + s * (x * (-s + 1f) + 1f) * dy.getAtIndex(F, i));
            }
        });
    }

    @Override
    public void smooth(MemorySegment s, MemorySegment w, int rows, int p, float eps) {
        float keep = 1 - eps, floor = eps / p;
        for (long i = 0; i < (long) rows * p; i++) w.setAtIndex(F, i, keep * s.getAtIndex(F, i) + floor);
    }

    @Override
    public void smoothBackward(MemorySegment s, MemorySegment dw, MemorySegment dg, int rows, int p, float eps) {
        float keep = 1 - eps;
        for (int r = 0; r < rows; r++) {
            long row = (long) r * p;
            float dot = 0;
            for (int j = 0; j < p; j++) dot += s.getAtIndex(F, row + j) * dw.getAtIndex(F, row + j);
            for (int j = 0; j < p; j++) {
                dg.setAtIndex(F, row + j, dg.getAtIndex(F, row + j) + keep * s.getAtIndex(F, row + j) * (dw.getAtIndex(F, row + j) - dot));
            }
        }
    }

    @Override
    public void weightedSum(MemorySegment h, MemorySegment w, MemorySegment out, int n, int streams, int c) {
        pool.parallelFor(n, Math.max(1, GRAIN / (streams * c)), (from, to) -> {
            for (int i = from; i < to; i++) {
                long oRow = (long) i * c * 4;
                for (int p = 0; p < streams; p++) {
                    float wp = w.getAtIndex(F, (long) i * streams + p);
                    FloatVector wv = FloatVector.broadcast(S, wp);
                    long hRow = ((long) p * n + i) * c * 4;
                    int j = 0;
                    for (; j + S.length() <= c; j += S.length()) {
                        FloatVector hv = FloatVector.fromMemorySegment(S, h, hRow + j * 4L, NATIVE);
                        FloatVector acc = p == 0 ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, out, oRow + j * 4L, NATIVE);
                        hv.fma(wv, acc).intoMemorySegment(out, oRow + j * 4L, NATIVE);
                    }
                    for (; j < c; j++) {
                        float acc = p == 0 ? 0f : out.get(F, oRow + j * 4L);
                        out.set(F, oRow + j * 4L, Math.fma(h.get(F, hRow + j * 4L), wp, acc));
                    }
                }
            }
        });
    }

    @Override
    public void weightedSumBackward(MemorySegment h, MemorySegment w, MemorySegment dOut, MemorySegment dh, MemorySegment dw, int n,
                                    int streams, int c) {
        pool.parallelFor(n, Math.max(1, GRAIN / (streams * c)), (from, to) -> {
            for (int i = from; i < to; i++) {
                long oRow = (long) i * c * 4;
                for (int p = 0; p < streams; p++) {
                    long wAt = (long) i * streams + p, hRow = ((long) p * n + i) * c * 4;
                    float wp = w.getAtIndex(F, wAt);
                    FloatVector wv = FloatVector.broadcast(S, wp);
                    FloatVector dots = FloatVector.zero(S);
                    int j = 0;
                    for (; j + S.length() <= c; j += S.length()) {
                        FloatVector g = FloatVector.fromMemorySegment(S, dOut, oRow + j * 4L, NATIVE);
                        dots = g.fma(FloatVector.fromMemorySegment(S, h, hRow + j * 4L, NATIVE), dots);
                        g.fma(wv, FloatVector.fromMemorySegment(S, dh, hRow + j * 4L, NATIVE)).intoMemorySegment(dh, hRow + j * 4L, NATIVE);
                    }
                    float dot = VectorMath.sum(dots);
                    for (; j < c; j++) {
                        float g = dOut.get(F, oRow + j * 4L);
                        dot = Math.fma(g, h.get(F, hRow + j * 4L), dot);
                        dh.set(F, hRow + j * 4L, Math.fma(g, wp, dh.get(F, hRow + j * 4L)));
                    }
                    dw.setAtIndex(F, wAt, dw.getAtIndex(F, wAt) + dot);
                }
            }
        });
    }
}
