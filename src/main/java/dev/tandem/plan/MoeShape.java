package dev.tandem.plan;

/**
 * The mixture-of-experts part of a model's shape, as the runtime's {@code MoEConfig} has it:
 * every {@code every}-th layer (layers every−1, 2·every−1, …) replaces its MLP with
 * {@code experts} MLPs of the dense MLP's shape and a router (h × experts); each token goes to
 * {@code topK} of them. An expert computes at most ⌈capacity·tokens·topK/experts⌉ tokens per call,
 * and its GEMMs run over that many rows whether or not they are filled (Switch/GShard padding), so
 * compute is priced at capacity·topK MLPs per token; {@code capacity = 0} means dropless (exactly topK).
 *
 * @param experts  experts per MoE layer; 0 = a dense model
 * @param topK     experts each token is routed to
 * @param capacity capacity factor (0 = dropless)
 * @param every    one MoE layer in this many
 */
public record MoeShape(int experts, int topK, double capacity, int every) {
    public static final MoeShape DENSE = new MoeShape(0, 1, 0, 1);

    public MoeShape {
        if (experts < 0) throw new PlanInputException("model: experts must be 0 (dense) or >= 1, got " + experts);
        if (experts > 0) {
            if (topK < 1 || topK > experts) {
                throw new PlanInputException("model: top_k must be between 1 and experts (" + experts + "), got " + topK);
            }
            if (!(capacity >= 0) || Double.isInfinite(capacity)) {
                throw new PlanInputException("model: capacity_factor must be >= 0 (0 = dropless), got " + capacity);
            }
            if (every < 1) throw new PlanInputException("model: moe_every must be >= 1, got " + every);
        }
    }

    public boolean sparse() {
        return experts > 0;
    }

    /** Layers with experts among {@code layers}. */
    public int moeLayers(int layers) {
        return sparse() ? layers / every : 0;
    }

    /** Expert MLPs each token's rows run through, padding included: capacity·topK, or topK when dropless. */
    public double computedExperts() {
        return capacity == 0 ? topK : Math.min(experts, capacity * topK);
    }
}
