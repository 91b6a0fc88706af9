package dev.tandem.optim;

import dev.tandem.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Largest singular value of a matrix by power iteration (in double), a property of a trained
 * solution that tells optimizers apart: Muon's orthogonalized updates keep it small and even,
 * Adam-like updates let a few directions grow.
 */
public final class SpectralNorm {
    private SpectralNorm() {}

    /** σ_max of the row-major 2-D {@code w} after {@code iterations} steps of v ← WᵀW·v. */
    public static double of(Tensor w, int iterations) {
        int r = w.dim(0), c = w.dim(1);
        float[] a = w.toFloatArray();
        double[] v = new double[c], u = new double[r];
        SplittableRandom rng = new SplittableRandom(1);
        for (int j = 0; j < c; j++) v[j] = rng.nextGaussian();
        double sigma = 0;
        for (int it = 0; it < iterations; it++) {
            normalize(v);
            for (int i = 0; i < r; i++) {
                double s = 0;
                for (int j = 0; j < c; j++) s += a[i * c + j] * v[j];
                u[i] = s;
            }
            sigma = Math.sqrt(dot(u, u));
            for (int j = 0; j < c; j++) v[j] = 0;
            for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) v[j] += a[i * c + j] * u[i];
        }
        return sigma;
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    private static void normalize(double[] x) {
        double n = Math.sqrt(dot(x, x));
        if (n > 0) for (int i = 0; i < x.length; i++) x[i] /= n;
    }
}
