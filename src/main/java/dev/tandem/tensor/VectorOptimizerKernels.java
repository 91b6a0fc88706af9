package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast optimizer updates: float32, chunks of elements split across the worker pool. AdamW's
 * body is vectorised; its tail does the vector body's operations in the same order, so an
 * element's result does not depend on where a chunk or shard boundary puts it.
 */
final class VectorOptimizerKernels implements OptimizerKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Elements per task below which splitting across threads costs more than it saves. */
    private static final int GRAIN = 1 << 14;

    private final WorkerPool pool;

    VectorOptimizerKernels(WorkerPool pool) {
        this.pool = pool;
    }

    @Override
    public void adamW(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n, AdamW step) {
        float b1 = step.beta1(), b2 = step.beta2(), eps = step.eps(), decay = step.decay();
        float bc1 = (float) (1 - Math.pow(b1, step.t()));
        float bc2 = (float) (1 - Math.pow(b2, step.t()));
        float stepSize = step.lr() / bc1;
        float invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
        pool.parallelFor(Math.toIntExact(n), GRAIN, (from, to) -> {
            int i = from;
            for (; i + S.length() <= to; i += S.length()) {
                long off = (long) i * 4;
                FloatVector gv = FloatVector.fromMemorySegment(S, g, off, NATIVE);
                FloatVector mv = FloatVector.fromMemorySegment(S, m, off, NATIVE).mul(b1).add(gv.mul(1 - b1));
                FloatVector vv = FloatVector.fromMemorySegment(S, v, off, NATIVE).mul(b2).add(gv.mul(gv).mul(1 - b2));
                FloatVector denom = vv.lanewise(VectorOperators.SQRT).mul(invSqrtBc2).add(eps);
                FloatVector pv = FloatVector.fromMemorySegment(S, p, off, NATIVE).mul(decay).sub(mv.div(denom).mul(stepSize));
                mv.intoMemorySegment(m, off, NATIVE);
                vv.intoMemorySegment(v, off, NATIVE);
                pv.intoMemorySegment(p, off, NATIVE);
            }
            for (; i < to; i++) {
                float gi = g.getAtIndex(F, i);
                float mi = m.getAtIndex(F, i) * b1 + gi * (1 - b1);
                float vi = v.getAtIndex(F, i) * b2 + gi * gi * (1 - b2);
                float denom = (float) Math.sqrt(vi) * invSqrtBc2 + eps;
                m.setAtIndex(F, i, mi);
                v.setAtIndex(F, i, vi);
                p.setAtIndex(F, i, p.getAtIndex(F, i) * decay - mi / denom * stepSize);
            }
        });
    }

    @Override
    public void lion(MemorySegment p, MemorySegment g, MemorySegment m, long n, float lr, float decay, float b1, float b2) {
        pool.parallelFor(Math.toIntExact(n), GRAIN, (from, to) -> {
            for (int j = from; j < to; j++) {
                float gj = g.getAtIndex(F, j), mj = m.getAtIndex(F, j);
                float c = b1 * mj + (1 - b1) * gj;
                p.setAtIndex(F, j, p.getAtIndex(F, j) * decay - lr * Math.signum(c));
                m.setAtIndex(F, j, b2 * mj + (1 - b2) * gj);
            }
        });
    }

    @Override
    public void sgd(MemorySegment p, MemorySegment g, MemorySegment b, long n, float lr, float wd, float mu, boolean nesterov) {
        pool.parallelFor(Math.toIntExact(n), GRAIN, (from, to) -> {
            for (int j = from; j < to; j++) {
                float pj = p.getAtIndex(F, j);
                float gj = g.getAtIndex(F, j) + wd * pj;
                float bj = mu * b.getAtIndex(F, j) + gj;
                b.setAtIndex(F, j, bj);
                float u = nesterov ? gj + mu * bj : bj;
                p.setAtIndex(F, j, pj - lr * u);
            }
        });
    }
}
