package dev.tandem.optim;

/**
 * Eigenvectors of a symmetric matrix by the cyclic Jacobi method, in double. Chosen over a
 * tridiagonal QL solver for being short and obviously right; it is O(n³) per sweep with a
 * handful of sweeps, fine for SOAP's initial eigenbasis of dimensions up to a few hundred (a
 * one-off cost: later refreshes use one QR power step instead).
 */
public final class SymmetricEigen {
    private SymmetricEigen() {}

    /** Eigenvalues (descending) and the matching eigenvectors as the columns of a row-major n×n matrix. */
    public record Result(double[] values, double[] vectors) {}

    /** Decomposes the symmetric row-major n×n {@code a} (not modified; only its symmetric part is used). */
    public static Result decompose(double[] a, int n) {
        double[] m = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) m[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
        }
        double[] vt = new double[n * n]; // rows are eigenvectors (kept transposed: rotations touch two rows)
        for (int i = 0; i < n; i++) vt[i * n + i] = 1;
        double total = 0;
        for (double x : m) total += x * x;
        for (int sweep = 0; sweep < 60; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += m[p * n + q] * m[p * n + q];
            if (off <= 1e-30 * total || off == 0) break;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) rotate(m, vt, n, p, q);
            }
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) values[i] = m[i * n + i];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(values[y], values[x]));
        double[] sorted = new double[n], vectors = new double[n * n];
        for (int j = 0; j < n; j++) {
            int src = order[j];
            sorted[j] = values[src];
            for (int i = 0; i < n; i++) vectors[i * n + j] = vt[src * n + i];
        }
        return new Result(sorted, vectors);
    }

    /** One Jacobi rotation zeroing m[p][q] (Numerical Recipes' stable angle choice). */
    private static void rotate(double[] m, double[] vt, int n, int p, int q) {
        double apq = m[p * n + q];
        if (apq == 0) return;
        double app = m[p * n + p], aqq = m[q * n + q];
        double theta = (aqq - app) / (2 * apq);
        double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        if (theta == 0) t = 1;
        double c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; k++) {
            if (k == p || k == q) continue;
            double akp = m[p * n + k], akq = m[q * n + k];
            double np = c * akp - s * akq, nq = s * akp + c * akq;
            m[p * n + k] = np;
            m[k * n + p] = np;
            m[q * n + k] = nq;
            m[k * n + q] = nq;
        }
        m[p * n + p] = app - t * apq;
        m[q * n + q] = aqq + t * apq;
        m[p * n + q] = 0;
        m[q * n + p] = 0;
        for (int k = 0; k < n; k++) {
            double vp = vt[p * n + k], vq = vt[q * n + k];
            vt[p * n + k] = c * vp - s * vq;
            vt[q * n + k] = s * vp + c * vq;
        }
    }
}
