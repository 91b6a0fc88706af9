package dev.tandem.plan;

/**
 * Cost of one transformer layer for one micro-batch on one device (seconds and FLOPs), before
 * recomputation is decided. Communication is listed separately because it does not overlap.
 * With experts in some layers, the numbers are the average over the layers.
 *
 * @param forward forward kernels
 * @param backward backward kernels (data and weight gradients)
 * @param attentionCore forward of QKᵀ, softmax, dropout and ·V alone: what selective recompute repeats
 *     (0 with FlashAttention-style kernels, whose backward recomputes the scores anyway)
 * @param tpForward tensor-parallel collectives of the forward (two all-reduces, or all-gather +
 *     reduce-scatter pairs with sequence parallelism)
 * @param tpBackward the same for the backward
 * @param forwardFlops GEMM FLOPs of the forward
 * @param attentionCoreFlops GEMM FLOPs of the attention core forward that selective recompute repeats
 * @param a2aForward MoE token dispatch and combine all-to-alls of the forward
 * @param a2aBackward the same for the backward
 */
public record LayerCost(double forward, double backward, double attentionCore, double tpForward, double tpBackward,
                        double forwardFlops, double attentionCoreFlops, double a2aForward, double a2aBackward) {

    /** A layer without experts. */
    public LayerCost(double forward, double backward, double attentionCore, double tpForward, double tpBackward,
                     double forwardFlops, double attentionCoreFlops) {
        this(forward, backward, attentionCore, tpForward, tpBackward, forwardFlops, attentionCoreFlops, 0, 0);
    }

    /** Compute seconds of one layer's forward + backward including what {@code rc} recomputes. */
    public double compute(Recompute rc) {
        return forward + backward + switch (rc) {
            case NONE -> 0;
            case SELECTIVE -> attentionCore;
            case FULL -> forward;
        };
    }

    /** Exposed tensor-parallel communication; full recompute repeats the forward's collectives. */
    public double tpComm(Recompute rc) {
        return tpForward + tpBackward + (rc == Recompute.FULL ? tpForward : 0);
    }

    /** Exposed expert all-to-alls; full recompute repeats the forward's. */
    public double a2aComm(Recompute rc) {
        return a2aForward + a2aBackward + (rc == Recompute.FULL ? a2aForward : 0);
    }

    /** Backward-phase seconds (what gradient communication can hide behind). */
    public double backwardPhase(Recompute rc) {
        return compute(rc) - forward;
    }

    /** GEMM FLOPs executed, recomputation included (hardware FLOPs). */
    public double flops(Recompute rc) {
        return 3 * forwardFlops + switch (rc) {
            case NONE -> 0;
            case SELECTIVE -> attentionCoreFlops;
            case FULL -> forwardFlops;
        };
    }
}
