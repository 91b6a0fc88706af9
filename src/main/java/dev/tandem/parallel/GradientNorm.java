package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.Kernels;
import java.util.List;
import java.util.function.Predicate;

/**
 * Global-norm gradient clipping for a model spread over ranks, the one mechanism every strategy
 * uses: each rank adds the squares of the slices it owns ({@code counts}: of the ranks holding
 * the same elements exactly one counts them), the sums are added over {@code sumOver} (groups
 * whose ranks hold different elements), and every rank scales its slices by the same factor.
 */
public final class GradientNorm {
    private GradientNorm() {}

    /** @return the global norm before clipping to {@code maxNorm} (0 = no clipping) */
    public static double clip(List<ParamSlice> slices, Predicate<ParamSlice> counts, List<ProcessGroup> sumOver, double maxNorm,
                              Kernels kernels) {
        double sq = 0;
        for (ParamSlice s : slices) if (counts.test(s)) sq += kernels.squaredNorm(s.grad(), s.length());
        for (ProcessGroup g : sumOver) sq = GroupSum.of(g, sq);
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-6));
            for (ParamSlice s : slices) kernels.scale(s.grad(), scale, s.length());
        }
        return norm;
    }
}
