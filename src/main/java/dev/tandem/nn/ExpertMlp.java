package dev.tandem.nn;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Forward and backward of one expert's MLP on {@code n} rows, side by side with the same
 * arguments: {@code h = x·W1 + b1}, {@code act = gelu(h)}, {@code out = act·W2 + b2}. The forward
 * keeps h and act (the caller's buffers) for the backward.
 */
public final class ExpertMlp {
    private ExpertMlp() {}

    public static void forward(Kernels k, ExpertWeights w, MemorySegment x, MemorySegment h, MemorySegment act, MemorySegment out,
                               int n, int c) {
        int f = w.fcWeight().value().dim(1);
        k.gemm(false, false, n, f, c, 1f, x, 0, c, w.fcWeight().value().data(), 0, f, 0f, h, 0, f);
        k.addRowVector(h, w.fcBias().value().data(), n, f);
        k.geluForward(h, act, (long) n * f);
        k.gemm(false, false, n, c, f, 1f, act, 0, f, w.projWeight().value().data(), 0, c, 0f, out, 0, c);
        k.addRowVector(out, w.projBias().value().data(), n, c);
    }

    /** Adds the input gradient to {@code dx} and the weight gradients to the parameters' gradients. */
    public static void backward(Kernels k, ExpertWeights w, MemorySegment x, MemorySegment h, MemorySegment act, MemorySegment dOut,
                                MemorySegment dx, int n, int c) {
        int f = w.fcWeight().value().dim(1);
        try (Tensor dAct = Tensor.zeros(MemoryCategory.ACTIVATIONS, n, f); Tensor dH = Tensor.zeros(MemoryCategory.ACTIVATIONS, n, f)) {
            k.gemm(false, true, n, f, c, 1f, dOut, 0, c, w.projWeight().value().data(), 0, c, 0f, dAct.data(), 0, f);
            k.gemm(true, false, f, c, n, 1f, act, 0, f, dOut, 0, c, 1f, w.projWeight().grad().data(), 0, c);
            k.sumRows(dOut, w.projBias().grad().data(), n, c);
            k.geluBackward(h, dAct.data(), dH.data(), (long) n * f);
            k.gemm(false, true, n, c, f, 1f, dH.data(), 0, f, w.fcWeight().value().data(), 0, f, 1f, dx, 0, c);
            k.gemm(true, false, c, f, n, 1f, x, 0, c, dH.data(), 0, f, 1f, w.fcWeight().grad().data(), 0, f);
            k.sumRows(dH.data(), w.fcBias().grad().data(), n, f);
        }
    }
}
