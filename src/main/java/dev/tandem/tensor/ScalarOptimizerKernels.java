package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The reference optimizer updates: each formula as written, one element at a time, in double. */
final class ScalarOptimizerKernels implements OptimizerKernels {
    static final ScalarOptimizerKernels INSTANCE = new ScalarOptimizerKernels();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarOptimizerKernels() {}

    @Override
    public void adamW(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n, AdamW step) {
        double b1 = step.beta1(), b2 = step.beta2();
        double bc1 = 1 - Math.pow(b1, step.t()), bc2 = 1 - Math.pow(b2, step.t());
        for (long i = 0; i < n; i++) {
            double gi = g.getAtIndex(F, i);
            double mi = b1 * m.getAtIndex(F, i) + (1 - b1) * gi;
            double vi = b2 * v.getAtIndex(F, i) + (1 - b2) * gi * gi;
            double update = (mi / bc1) / (Math.sqrt(vi / bc2) + step.eps());
            m.setAtIndex(F, i, (float) mi);
            v.setAtIndex(F, i, (float) vi);
            p.setAtIndex(F, i, (float) (p.getAtIndex(F, i) * (double) step.decay() - step.lr() * update));
        }
    }

    @Override
    public void lion(MemorySegment p, MemorySegment g, MemorySegment m, long n, float lr, float decay, float beta1, float beta2) {
        double b1 = beta1, b2 = beta2;
        for (long j = 0; j < n; j++) {
            double gj = g.getAtIndex(F, j), mj = m.getAtIndex(F, j);
            double c = b1 * mj + (1 - b1) * gj;
            p.setAtIndex(F, j, (float) (p.getAtIndex(F, j) * (double) decay - lr * Math.signum(c)));
            m.setAtIndex(F, j, (float) (b2 * mj + (1 - b2) * gj));
        }
    }

    @Override
    public void sgd(MemorySegment p, MemorySegment g, MemorySegment b, long n, float lr, float wd, float momentum, boolean nesterov) {
        double mu = momentum;
        for (long j = 0; j < n; j++) {
            double pj = p.getAtIndex(F, j);
            double gj = g.getAtIndex(F, j) + wd * pj;
            double bj = mu * b.getAtIndex(F, j) + gj;
            double u = nesterov ? gj + mu * bj : bj;
            b.setAtIndex(F, j, (float) bj);
            p.setAtIndex(F, j, (float) (pj - lr * u));
        }
    }
}
