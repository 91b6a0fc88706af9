package dev.tandem.train.config;

import dev.tandem.TandemException;
import dev.tandem.nn.MoEConfig;

/**
 * {@code [model]}: the GPT's shape (its vocabulary comes from the tokenizer).
 *
 * @param stableEmbedding the stable embedding of 8-bit training (a LayerNorm on the token embedding)
 * @param nExperts        experts per MoE block; 0 = a dense GPT-2 (the other MoE keys are then unused)
 * @param topK            experts per token, 1 (Switch) or 2 (GShard/Mixtral, gates renormalised)
 * @param capacityFactor  an expert takes ⌈capacity_factor · tokens · top_k / n_experts⌉ assignments per call; more are dropped
 * @param dropless        no capacity limit (capacity_factor unused)
 * @param moeEvery        every moe_every-th block has experts (1 = all)
 * @param auxLossCoef     weight of the load-balancing loss
 * @param zLossCoef       weight of the router z-loss
 * @param routerSkew      a fixed zipf-like router prior that makes low-numbered experts hot (benchmarks; 0 = none)
 */
public record ModelSection(int nLayer, int nHead, int nEmbd, int blockSize, boolean stableEmbedding, int nExperts, int topK,
                           double capacityFactor, boolean dropless, int moeEvery, double auxLossCoef, double zLossCoef,
                           double routerSkew) {
    /** A dense model. */
    public ModelSection(int nLayer, int nHead, int nEmbd, int blockSize, boolean stableEmbedding) {
        this(nLayer, nHead, nEmbd, blockSize, stableEmbedding, 0, MoEConfig.DENSE.topK(), MoEConfig.DENSE.capacityFactor(),
                MoEConfig.DENSE.dropless(), MoEConfig.DENSE.moeEvery(), MoEConfig.DENSE.auxLossCoef(), MoEConfig.DENSE.zLossCoef(), 0);
    }

    public ModelSection {
        Sections.positive("model.n_layer", nLayer);
        Sections.positive("model.n_head", nHead);
        Sections.positive("model.n_embd", nEmbd);
        Sections.positive("model.block_size", blockSize);
        if (nEmbd % nHead != 0) {
            throw new TandemException("model.n_embd (" + nEmbd + ") is not divisible by model.n_head (" + nHead
                    + "): choose n_head so that each head gets n_embd / n_head features");
        }
        new MoEConfig(nExperts, topK, capacityFactor, dropless, moeEvery, auxLossCoef, zLossCoef, routerSkew); // validates the MoE keys
    }

    /** The experts this section asks for ({@link MoEConfig#DENSE} when n_experts = 0). */
    public MoEConfig experts() {
        return nExperts == 0 ? MoEConfig.DENSE : new MoEConfig(nExperts, topK, capacityFactor, dropless, moeEvery, auxLossCoef, zLossCoef, routerSkew);
    }
}
