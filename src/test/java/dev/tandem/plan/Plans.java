package dev.tandem.plan;

import java.util.List;

/** Plans of published GPU runs, written as their papers give them: micro-batch size in sequences, mixed-precision Adam. */
final class Plans {
    private Plans() {}

    static Plan gpu(int tp, int pp, int dp, int microBatchSize, int globalBatch, int v, ZeroStage zero, Recompute rc, boolean sp,
                    boolean offload) {
        return new Plan(new MeshShape(dp, tp, pp), zero, globalBatch / (dp * microBatchSize), Schedule.withChunks(v), List.of(),
                RecomputePolicy.every(rc), sp, offload ? Offload.OPTIMIZER : Offload.NONE, TrainingPrecision.MIXED, OptimizerSpec.ADAMW);
    }
}
