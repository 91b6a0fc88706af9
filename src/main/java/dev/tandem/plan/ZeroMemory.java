package dev.tandem.plan;

/**
 * Model-state bytes per device under ZeRO (Rajbhandari et al.): parameters, gradients and
 * optimizer state, each sharded over the N_d data-parallel ranks from the stage that shards it
 * on. Bytes per parameter come from the plan's precision and optimizer: with mixed precision and
 * Adam, 16-bit parameters (2Ψ) and gradients (2Ψ) and K = 12 bytes of optimizer state (float32
 * master copy, momentum, variance), so baseline 16Ψ, stage 1 4Ψ + 12Ψ/N_d, stage 2 2Ψ + 14Ψ/N_d,
 * stage 3 16Ψ/N_d, as in the paper; in float32 (the runtime) 4Ψ + 4Ψ + 8Ψ.
 */
public final class ZeroMemory {
    private ZeroMemory() {}

    public record ModelStates(double params, double grads, double optimizer) {
        public double total() {
            return params + grads + optimizer;
        }
    }

    /**
     * @param matrixParams the transformer layers' weight matrices held (before sharding)
     * @param otherParams  every other parameter held (embeddings, biases, norms)
     */
    public static ModelStates perDevice(double matrixParams, double otherParams, int dataParallel, ZeroStage stage,
                                        TrainingPrecision precision, OptimizerSpec optimizer) {
        double nd = dataParallel, psi = matrixParams + otherParams;
        double optimizerBytes = precision.masterBytes() * psi + optimizer.stateBytesPerParameter(true) * matrixParams
                + optimizer.stateBytesPerParameter(false) * otherParams;
        return new ModelStates(
                precision.paramBytes() * psi / (stage.shardsParameters() ? nd : 1),
                precision.gradBytes() * psi / (stage.shardsGradients() ? nd : 1),
                optimizerBytes / (stage.shardsOptimizer() ? nd : 1));
    }

    /** Mixed-precision Adam, the paper's setting. */
    public static ModelStates mixedAdam(double params, int dataParallel, ZeroStage stage) {
        return perDevice(params, 0, dataParallel, stage, TrainingPrecision.MIXED, OptimizerSpec.ADAMW);
    }
}
