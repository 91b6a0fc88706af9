package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The element-wise ops of ParScale's aggregation (dev.tandem.nn.ParScale), forward next to
 * backward: SiLU, the label-smoothed softmax weights, and the weighted sum of the P streams'
 * hidden states. Tensors are float32, row-major; {@code h} is [P·N, C] stream-major (stream p's
 * row n is row p·N + n), {@code w} is [N, P]. Backward kernels add into their gradients.
 */
public interface ParScaleKernels {

    /** {@code y[i] = a[i]·σ(a[i])} (overwrites y). */
    void silu(MemorySegment a, MemorySegment y, long n);

    /** {@code da[i] += dy[i]·σ(a[i])·(1 + a[i]·(1 − σ(a[i])))}. */
    void siluBackward(MemorySegment a, MemorySegment dy, MemorySegment da, long n);

    /** {@code w = (1 − ε)·s + ε/P} for the row-wise softmax {@code s} [rows, P] (overwrites w). */
    void smooth(MemorySegment s, MemorySegment w, int rows, int p, float eps);

    /** {@code dg += (1 − ε)·s ⊙ (dw − ⟨s, dw⟩)} row by row: the gradient of {@link #smooth} through the softmax. */
    void smoothBackward(MemorySegment s, MemorySegment dw, MemorySegment dg, int rows, int p, float eps);

    /** {@code out[n] = Σ_p w[n, p]·h[p·N + n]} for n < N (overwrites out [N, C]). */
    void weightedSum(MemorySegment h, MemorySegment w, MemorySegment out, int n, int streams, int c);

    /** {@code dh[p·N + n] += w[n, p]·dOut[n]} and {@code dw[n, p] += ⟨dOut[n], h[p·N + n]⟩}. */
    void weightedSumBackward(MemorySegment h, MemorySegment w, MemorySegment dOut, MemorySegment dh, MemorySegment dw, int n, int streams,
                             int c);
}
