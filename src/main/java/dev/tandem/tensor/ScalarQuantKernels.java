package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The reference {@link QuantKernels}: every code read where it is used, sums in double. */
final class ScalarQuantKernels implements QuantKernels {
    static final ScalarQuantKernels INSTANCE = new ScalarQuantKernels();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private ScalarQuantKernels() {}

    private static double weight(QuantizedMatrix w, MemorySegment scale, int i, int o) {
        return (double) scale.getAtIndex(F, o) * (w.code(i, o) - w.zero(o));
    }

    @Override
    public void forward(QuantizedMatrix w, MemorySegment scale, MemorySegment x, MemorySegment y, int rows) {
        int in = w.in(), out = w.out();
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double acc = 0;
                for (int i = 0; i < in; i++) acc += x.getAtIndex(F, (long) r * in + i) * weight(w, scale, i, o);
                y.setAtIndex(F, (long) r * out + o, (float) acc);
            }
        }
    }

    @Override
    public void backwardInput(QuantizedMatrix w, MemorySegment scale, MemorySegment dy, MemorySegment dx, int rows) {
        int in = w.in(), out = w.out();
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < in; i++) {
                double acc = 0;
                for (int o = 0; o < out; o++) acc += dy.getAtIndex(F, (long) r * out + o) * weight(w, scale, i, o);
                long at = (long) r * in + i;
                dx.setAtIndex(F, at, (float) (dx.getAtIndex(F, at) + acc));
            }
        }
    }

    @Override
    public void backwardScale(QuantizedMatrix w, MemorySegment x, MemorySegment dy, MemorySegment dScale, int rows) {
        int in = w.in(), out = w.out();
        for (int o = 0; o < out; o++) {
            double acc = 0;
            for (int r = 0; r < rows; r++) {
                double unscaled = 0;
                for (int i = 0; i < in; i++) unscaled += x.getAtIndex(F, (long) r * in + i) * (double) (w.code(i, o) - w.zero(o));
                acc += dy.getAtIndex(F, (long) r * out + o) * unscaled;
            }
            dScale.setAtIndex(F, o, (float) (dScale.getAtIndex(F, o) + acc));
        }
    }
}
