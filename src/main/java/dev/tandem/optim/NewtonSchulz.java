package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Muon's orthogonalization: a quintic Newton–Schulz iteration that pushes every singular value
 * of G towards 1 (to about [0.68, 1.14], not exactly 1: the coefficients a = 3.4445,
 * b = −4.7750, c = 2.0315 trade accuracy for a steep slope at 0, so five steps suffice). It works
 * on the wide orientation (rows ≤ cols) so that X·Xᵀ is the small Gram matrix. float32 with
 * the fast GEMM (the reference uses bf16).
 */
public final class NewtonSchulz {
    static final float A = 3.4445f, B = -4.7750f, C = 2.0315f;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private NewtonSchulz() {}

    /** Writes NS(g) of the row-major {@code rows×cols} matrix {@code g} into {@code out} (same layout), with kernels {@code k}. */
    public static void orthogonalize(MemorySegment g, int rows, int cols, int steps, MemorySegment out, Kernels k) {
        boolean transpose = rows > cols;
        int r = transpose ? cols : rows, c = transpose ? rows : cols;
        try (Tensor x = Tensor.zeros(MemoryCategory.OTHER, r, c);
             Tensor next = Tensor.zeros(MemoryCategory.OTHER, r, c);
             Tensor gram = Tensor.zeros(MemoryCategory.OTHER, r, r);
             Tensor poly = Tensor.zeros(MemoryCategory.OTHER, r, r)) {
            MemorySegment xs = x.data();
            double sq = 0;
            for (long i = 0; i < (long) rows * cols; i++) {
                float v = g.getAtIndex(F, i);
                sq += (double) v * v;
            }
            float inv = (float) (1 / (Math.sqrt(sq) + 1e-7));
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    float v = g.getAtIndex(F, (long) i * cols + j) * inv;
                    xs.setAtIndex(F, transpose ? (long) j * c + i : (long) i * c + j, v);
                }
            }
            Tensor cur = x, nxt = next;
            for (int s = 0; s < steps; s++) {
                MemorySegment X = cur.data(), Y = nxt.data();
                // A = X·Xᵀ; B = b·A + c·A·A; X ← a·X + B·X
                k.gemm(false, true, r, r, c, 1f, X, 0, c, X, 0, c, 0f, gram.data(), 0, r);
                k.gemm(false, false, r, r, r, C, gram.data(), 0, r, gram.data(), 0, r, 0f, poly.data(), 0, r);
                k.axpy(B, gram.data(), poly.data(), (long) r * r);
                MemorySegment.copy(X, 0, Y, 0, X.byteSize());
                k.scale(Y, A, (long) r * c);
                k.gemm(false, false, r, c, r, 1f, poly.data(), 0, r, X, 0, c, 1f, Y, 0, c);
                Tensor tmp = cur;
                cur = nxt;
                nxt = tmp;
            }
            MemorySegment X = cur.data();
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    out.setAtIndex(F, (long) i * cols + j, X.getAtIndex(F, transpose ? (long) j * c + i : (long) i * c + j));
                }
            }
        }
    }
}
