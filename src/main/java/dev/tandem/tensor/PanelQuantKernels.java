package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The fast {@link QuantKernels}: the packed codes are unpacked a panel of rows at a time into a
 * small float32 buffer (at most {@link #PANEL_FLOATS} floats, about 256 KiB, so it stays in
 * cache) and multiplied with the provider's fast GEMM, accumulating over the panels. Unpacking
 * costs O(in·out) per call against the GEMM's O(rows·in·out), so it is noise for any real batch;
 * the full-size float32 weight never exists.
 */
final class PanelQuantKernels implements QuantKernels {
    static final int PANEL_FLOATS = 1 << 16;
    private final Kernels k;

    PanelQuantKernels(Kernels k) {
        this.k = k;
    }

    private static int panelRows(QuantizedMatrix w) {
        return Math.max(1, Math.min(w.in(), PANEL_FLOATS / w.out()));
    }

    @Override
    public void forward(QuantizedMatrix w, MemorySegment scale, MemorySegment x, MemorySegment y, int rows) {
        int in = w.in(), out = w.out(), p = panelRows(w);
        try (OffHeap panel = OffHeap.allocate((long) p * out * 4, MemoryCategory.OTHER)) {
            for (int i0 = 0; i0 < in; i0 += p) {
                int n = Math.min(p, in - i0);
                w.unpackRows(i0, n, scale, panel.segment());
                k.gemm(false, false, rows, out, n, 1f, x, i0, in, panel.segment(), 0, out, i0 == 0 ? 0f : 1f, y, 0, out);
            }
        }
    }

    @Override
    public void backwardInput(QuantizedMatrix w, MemorySegment scale, MemorySegment dy, MemorySegment dx, int rows) {
        int in = w.in(), out = w.out(), p = panelRows(w);
        try (OffHeap panel = OffHeap.allocate((long) p * out * 4, MemoryCategory.OTHER)) {
            for (int i0 = 0; i0 < in; i0 += p) {
                int n = Math.min(p, in - i0);
                w.unpackRows(i0, n, scale, panel.segment());
                k.gemm(false, true, rows, n, out, 1f, dy, 0, out, panel.segment(), 0, out, 1f, dx, i0, in);
            }
        }
    }

    @Override
    public void backwardScale(QuantizedMatrix w, MemorySegment x, MemorySegment dy, MemorySegment dScale, int rows) {
        int in = w.in(), out = w.out(), p = panelRows(w);
        long bytes = (long) p * out * 4;
        try (OffHeap unscaled = OffHeap.allocate(bytes, MemoryCategory.OTHER); OffHeap grad = OffHeap.allocate(bytes, MemoryCategory.OTHER)) {
            double[] acc = new double[out];
            for (int i0 = 0; i0 < in; i0 += p) {
                int n = Math.min(p, in - i0);
                // The panel's weight gradient G = x[:, panel]ᵀ·dy; then dScale[o] += Σ_i (q[i, o] − z[o])·G[i, o].
                k.gemm(true, false, n, out, rows, 1f, x, i0, in, dy, 0, out, 0f, grad.segment(), 0, out);
                w.unpackRows(i0, n, null, unscaled.segment());
                for (int r = 0; r < n; r++) {
                    for (int o = 0; o < out; o++) {
                        long at = (long) r * out + o;
                        acc[o] += unscaled.segment().getAtIndex(ValueLayout.JAVA_FLOAT, at) * grad.segment().getAtIndex(ValueLayout.JAVA_FLOAT, at);
                    }
                }
            }
            for (int o = 0; o < out; o++) dScale.setAtIndex(ValueLayout.JAVA_FLOAT, o, (float) (dScale.getAtIndex(ValueLayout.JAVA_FLOAT, o) + acc[o]));
        }
    }
}
