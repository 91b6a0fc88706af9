package dev.tandem.optim;

/**
 * The orthogonal factor Q of a square matrix by Householder reflections, in double. Unlike
 * Gram–Schmidt it stays orthogonal when the matrix is rank-deficient, which SOAP's
 * preconditioners are early in training (a sum of few gradient outer products).
 */
public final class HouseholderQr {
    private HouseholderQr() {}

    /** Q (row-major n×n) with A = Q·R, R upper triangular, for the row-major n×n {@code a}. */
    public static double[] q(double[] a, int n) {
        double[] w = new double[n * n]; // w = Aᵀ: column k of A is row k of w (contiguous)
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) w[j * n + i] = a[i * n + j];
        double[][] vs = new double[n][];
        for (int k = 0; k < n - 1; k++) {
            double norm = 0;
            for (int i = k; i < n; i++) norm += w[k * n + i] * w[k * n + i];
            norm = Math.sqrt(norm);
            if (norm == 0) continue;
            double alpha = w[k * n + k] > 0 ? -norm : norm;
            double[] v = new double[n - k];
            for (int i = k; i < n; i++) v[i - k] = w[k * n + i];
            v[0] -= alpha;
            double vn = 0;
            for (double x : v) vn += x * x;
            vn = Math.sqrt(vn);
            if (vn == 0) continue;
            for (int i = 0; i < v.length; i++) v[i] /= vn;
            vs[k] = v;
            for (int j = k; j < n; j++) { // columns j of A: R ← H·R
                double d = 0;
                for (int i = 0; i < v.length; i++) d += v[i] * w[j * n + k + i];
                for (int i = 0; i < v.length; i++) w[j * n + k + i] -= 2 * d * v[i];
            }
        }
        double[] q = new double[n * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        for (int k = 0; k < n - 1; k++) { // Q = H0·H1·…: right-multiply, touching columns k.. of each row
            double[] v = vs[k];
            if (v == null) continue;
            for (int r = 0; r < n; r++) {
                double d = 0;
                for (int i = 0; i < v.length; i++) d += q[r * n + k + i] * v[i];
                for (int i = 0; i < v.length; i++) q[r * n + k + i] -= 2 * d * v[i];
            }
        }
        return q;
    }
}
