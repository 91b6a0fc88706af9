package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The reference ParScale ops: each formula as written, one element at a time, in double. */
final class ScalarParScaleKernels implements ParScaleKernels {
    static final ScalarParScaleKernels INSTANCE = new ScalarParScaleKernels();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarParScaleKernels() {}

    @Override
    public void silu(MemorySegment a, MemorySegment y, long n) {
        for (long i = 0; i < n; i++) {
            double x = a.getAtIndex(F, i);
            y.setAtIndex(F, i, (float) (x / (1 + Math.exp(-x))));
        }
    }

    @Override
    public void siluBackward(MemorySegment a, MemorySegment dy, MemorySegment da, long n) {
        for (long i = 0; i < n; i++) {
            double x = a.getAtIndex(F, i), s = 1 / (1 + Math.exp(-x));
            da.setAtIndex(F, i, (float) (da.getAtIndex(F, i) + dy.getAtIndex(F, i) * s * (1 + x * (1 - s))));
        }
    }

    @Override
    public void smooth(MemorySegment s, MemorySegment w, int rows, int p, float eps) {
        for (long i = 0; i < (long) rows * p; i++) w.setAtIndex(F, i, (float) ((1 - (double) eps) * s.getAtIndex(F, i) + (double) eps / p));
    }

    @Override
    public void smoothBackward(MemorySegment s, MemorySegment dw, MemorySegment dg, int rows, int p, float eps) {
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            for (int j = 0; j < p; j++) dot += (double) s.getAtIndex(F, (long) r * p + j) * dw.getAtIndex(F, (long) r * p + j);
            for (int j = 0; j < p; j++) {
                long at = (long) r * p + j;
                dg.setAtIndex(F, at, (float) (dg.getAtIndex(F, at) + (1 - (double) eps) * s.getAtIndex(F, at) * (dw.getAtIndex(F, at) - dot)));
            }
        }
    }

    @Override
    public void weightedSum(MemorySegment h, MemorySegment w, MemorySegment out, int n, int streams, int c) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                double sum = 0;
                for (int p = 0; p < streams; p++) sum += (double) w.getAtIndex(F, (long) i * streams + p) * h.getAtIndex(F, ((long) p * n + i) * c + j);
                out.setAtIndex(F, (long) i * c + j, (float) sum);
            }
        }
    }

    @Override
    public void weightedSumBackward(MemorySegment h, MemorySegment w, MemorySegment dOut, MemorySegment dh, MemorySegment dw, int n,
                                    int streams, int c) {
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < streams; p++) {
                long hRow = ((long) p * n + i) * c, oRow = (long) i * c, wAt = (long) i * streams + p;
                double wp = w.getAtIndex(F, wAt), dot = 0;
                for (int j = 0; j < c; j++) {
                    double g = dOut.getAtIndex(F, oRow + j);
                    dot += g * h.getAtIndex(F, hRow + j);
                    dh.setAtIndex(F, hRow + j, (float) (dh.getAtIndex(F, hRow + j) + wp * g));
                }
                dw.setAtIndex(F, wAt, (float) (dw.getAtIndex(F, wAt) + dot));
            }
        }
    }
}
