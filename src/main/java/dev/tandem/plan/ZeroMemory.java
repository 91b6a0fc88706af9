package dev.tandem.plan;

/**
 * Model-state bytes per device under ZeRO (Rajbhandari et al.) for Ψ parameters with mixed-precision
 * Adam: 16-bit parameters (2Ψ), 16-bit gradients (2Ψ), K = 12 bytes of optimizer state per
 * parameter (FP32 master copy, momentum, variance), each sharded over N_d ranks from the stage
 * that shards it on. Baseline (2+2+K)Ψ; stage 1 4Ψ + KΨ/N_d; stage 2 2Ψ + 14Ψ/N_d; stage 3 16Ψ/N_d.
 */
public final class ZeroMemory {
    public static final double PARAM_BYTES = 2, GRAD_BYTES = 2, ADAM_STATE_BYTES = 12;

    private ZeroMemory() {}

    public record ModelStates(double params, double grads, double optimizer) {
        public double total() {
            return params + grads + optimizer;
        }
    }

    public static ModelStates perDevice(double psi, int dataParallel, ZeroStage stage) {
        double nd = dataParallel;
        return new ModelStates(
                PARAM_BYTES * psi / (stage.shardsParameters() ? nd : 1),
                GRAD_BYTES * psi / (stage.shardsGradients() ? nd : 1),
                ADAM_STATE_BYTES * psi / (stage.shardsOptimizer() ? nd : 1));
    }
}
