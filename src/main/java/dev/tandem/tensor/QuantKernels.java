package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The GEMMs of a linear layer whose weight is a {@link QuantizedMatrix} with per-channel scales,
 * {@code Ŵ[i, o] = scale[o]·(q[i, o] − z[o])} (PEQA), computed from the packed codes: no
 * implementation holds Ŵ in float32 beyond a panel of rows. {@code x} is [rows, in], {@code y}
 * and {@code dy} are [rows, out], {@code scale} and {@code dScale} are [out], float32.
 */
public interface QuantKernels {

    /** {@code y = x·Ŵ} (overwrites y). */
    void forward(QuantizedMatrix w, MemorySegment scale, MemorySegment x, MemorySegment y, int rows);

    /** {@code dx += dy·Ŵᵀ}. */
    void backwardInput(QuantizedMatrix w, MemorySegment scale, MemorySegment dy, MemorySegment dx, int rows);

    /** {@code dScale[o] += Σ_r dy[r, o]·Σ_i x[r, i]·(q[i, o] − z[o])}: the gradient of the scales. */
    void backwardScale(QuantizedMatrix w, MemorySegment x, MemorySegment dy, MemorySegment dScale, int rows);
}
