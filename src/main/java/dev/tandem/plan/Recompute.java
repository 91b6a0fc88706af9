package dev.tandem.plan;

/**
 * Activation recomputation (Korthikanti et al. 2022): what a layer keeps for its backward and what it
 * computes again.
 */
public enum Recompute {
    /** Keep every activation. */
    NONE,
    /** Keep everything except the attention core (QKᵀ, softmax, dropout, ·V), which is recomputed. */
    SELECTIVE,
    /** Keep only the layer input; run the whole layer forward again before its backward. */
    FULL
}
