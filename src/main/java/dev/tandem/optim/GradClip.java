package dev.tandem.optim;

import dev.tandem.nn.Parameter;
import dev.tandem.tensor.Kernels;
import java.util.List;

/** Global-norm gradient clipping. */
public final class GradClip {
    private GradClip() {}

    /** The L2 norm of all gradients together (a missing gradient counts as zero). */
    public static double globalNorm(List<Parameter> params, Kernels kernels) {
        double sq = 0;
        for (Parameter p : params) {
            if (p.gradOrNull() != null) sq += kernels.squaredNorm(p.grad().data(), p.numel());
        }
        return Math.sqrt(sq);
    }

    /**
     * Scales all gradients by {@code maxNorm / norm} when the norm exceeds {@code maxNorm}.
     * {@code maxNorm <= 0} disables clipping.
     *
     * @return the norm before clipping
     */
    public static double clip(List<Parameter> params, double norm, double maxNorm, Kernels kernels) {
        if (maxNorm > 0 && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-6));
            for (Parameter p : params) {
                if (p.gradOrNull() != null) kernels.scale(p.grad().data(), scale, p.numel());
            }
        }
        return norm;
    }
}
