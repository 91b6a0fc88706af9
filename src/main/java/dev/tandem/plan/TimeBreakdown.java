package dev.tandem.plan;

/**
 * Predicted seconds of one training step on the slowest device. {@link #total()} is their sum:
 * the parts are what is on the critical path, overlapped work is already subtracted.
 *
 * @param compute kernels of forward, backward and recompute, plus gradient accumulation
 * @param tensorParallel tensor-parallel collectives (never overlapped)
 * @param pipelineP2p pipeline sends and receives on the critical path
 * @param dataParallel gradient reduction / ZeRO gathers not hidden behind the backward
 * @param bubble pipeline fill and drain
 * @param optimizer optimizer step (on the device or, offloaded, transfers plus the host step)
 * @param expertParallel MoE token all-to-alls (dispatch and combine), blocking
 * @param islands the outer algorithm's traffic between islands, per step (its outer step amortized over H steps)
 */
public record TimeBreakdown(double compute, double tensorParallel, double pipelineP2p, double dataParallel,
                            double bubble, double optimizer, double expertParallel, double islands) {

    /** A step of a dense model on one island. */
    public TimeBreakdown(double compute, double tensorParallel, double pipelineP2p, double dataParallel, double bubble, double optimizer) {
        this(compute, tensorParallel, pipelineP2p, dataParallel, bubble, optimizer, 0, 0);
    }

    public double exposedCommunication() {
        return tensorParallel + pipelineP2p + dataParallel + expertParallel + islands;
    }

    public double total() {
        return compute + exposedCommunication() + bubble + optimizer;
    }
}
