package dev.tandem.nn;

import dev.tandem.TandemException;

/**
 * The mixture-of-experts part of a model's shape. With {@code nExperts = 0} the model is dense
 * GPT-2; otherwise every {@code moeEvery}-th block (blocks moeEvery−1, 2·moeEvery−1, …, so
 * {@code moe_every = 2} makes the odd blocks sparse, as GShard does) replaces its MLP with
 * {@code nExperts} experts of the dense MLP's shape and a learned top-k router.
 *
 * @param capacityFactor tokens an expert takes per call = ⌈capacity_factor · tokens · top_k / n_experts⌉;
 *                       assignments past it are dropped (their tokens keep only the residual)
 * @param dropless       no capacity: every assignment is computed (capacity_factor is then ignored)
 * @param auxLossCoef    weight of the Switch load-balancing loss added to the training objective
 * @param zLossCoef      weight of the ST-MoE router z-loss added to the training objective
 * @param routerSkew     a fixed zipf-like prior on the router, {@code −router_skew · ln(1 + e)} added to
 *                       expert e's logit, so that low-numbered experts run hot (0 = none): for
 *                       benchmarks and tests of load imbalance, not for training real models
 */
public record MoEConfig(int nExperts, int topK, double capacityFactor, boolean dropless, int moeEvery,
                        double auxLossCoef, double zLossCoef, double routerSkew) {
    /** A dense model (no experts); the other fields hold the defaults a sparse model starts from. */
    public static final MoEConfig DENSE = new MoEConfig(0, 1, 1.25, false, 1, 0.01, 0.001, 0);

    /** Without a router prior. */
    public MoEConfig(int nExperts, int topK, double capacityFactor, boolean dropless, int moeEvery, double auxLossCoef, double zLossCoef) {
        this(nExperts, topK, capacityFactor, dropless, moeEvery, auxLossCoef, zLossCoef, 0);
    }

    public MoEConfig {
        if (nExperts < 0) throw new TandemException("model.n_experts must be 0 (dense) or at least 1, got " + nExperts);
        if (nExperts > 0) {
            if (topK != 1 && topK != 2) throw new TandemException("model.top_k must be 1 or 2, got " + topK);
            if (topK > nExperts) {
                throw new TandemException("model.top_k = " + topK + " is more than model.n_experts = " + nExperts
                        + ": a token cannot pick more experts than there are (lower top_k or add experts)");
            }
            if (!dropless && !(capacityFactor > 0)) {
                throw new TandemException("model.capacity_factor must be > 0, got " + capacityFactor
                        + ": use e.g. 1.25, or model.dropless = true to compute every token");
            }
            if (moeEvery < 1) throw new TandemException("model.moe_every must be at least 1, got " + moeEvery);
            if (!(routerSkew >= 0)) throw new TandemException("model.router_skew must be >= 0, got " + routerSkew);
            if (!(auxLossCoef >= 0) || !(zLossCoef >= 0)) {
                throw new TandemException("model.aux_loss_coef and model.z_loss_coef must be >= 0, got " + auxLossCoef + " and " + zLossCoef);
            }
        }
    }

    public boolean sparse() {
        return nExperts > 0;
    }

    /** Whether block {@code layer} (0-based) has experts instead of a dense MLP. */
    public boolean isMoeLayer(int layer) {
        return sparse() && layer % moeEvery == moeEvery - 1;
    }

    /** Blocks with experts among {@code nLayer}. */
    public int moeLayers(int nLayer) {
        return sparse() ? nLayer / moeEvery : 0;
    }

    /** The fixed prior added to expert {@code e}'s router logit. */
    public float prior(int e) {
        return routerSkew == 0 ? 0f : (float) (-routerSkew * Math.log1p(e));
    }

    /** The most assignments one expert takes from a call on {@code tokens} tokens. */
    public int capacity(int tokens) {
        if (dropless) return tokens * topK;
        return Math.max(1, (int) Math.ceil(capacityFactor * tokens * topK / nExperts));
    }
}
