package dev.tandem.train.config;

import dev.tandem.TandemException;
import dev.tandem.nn.MoEConfig;

/**
 * {@code [model]}: the GPT's shape (its vocabulary comes from the tokenizer), where its weights
 * start, and what of it is trained.
 *
 * @param stableEmbedding the stable embedding of 8-bit training (a LayerNorm on the token embedding)
 * @param initFrom        a Hugging Face GPT-2 model directory to start from ("" = a fresh model); its
 *                        config.json gives the shape and its tokenizer the tokens (docs/FINETUNE.md)
 * @param peqa            0, or 3 / 4: quantize every linear layer to that many bits and train only the
 *                        per-channel scales (PEQA)
 * @param parscale        parallel streams P (ParScale; 1 = off): P× the compute, the same weights
 * @param parscalePrefix  prefix keys/values per stream and layer when parscale > 1
 * @param nExperts        experts per MoE block; 0 = a dense GPT-2 (the other MoE keys are then unused)
 * @param topK            experts per token, 1 (Switch) or 2 (GShard/Mixtral, gates renormalised)
 * @param capacityFactor  an expert takes ⌈capacity_factor · tokens · top_k / n_experts⌉ assignments per call; more are dropped
 * @param dropless        no capacity limit (capacity_factor unused)
 * @param moeEvery        every moe_every-th block has experts (1 = all)
 * @param auxLossCoef     weight of the load-balancing loss
 * @param zLossCoef       weight of the router z-loss
 * @param routerSkew      a fixed zipf-like router prior that makes low-numbered experts hot (benchmarks; 0 = none)
 */
public record ModelSection(int nLayer, int nHead, int nEmbd, int blockSize, boolean stableEmbedding, String initFrom, int peqa,
                           int parscale, int parscalePrefix, int nExperts, int topK, double capacityFactor, boolean dropless,
                           int moeEvery, double auxLossCoef, double zLossCoef, double routerSkew) {
    /** A fresh dense model of this shape, every weight trained, one stream. */
    public ModelSection(int nLayer, int nHead, int nEmbd, int blockSize, boolean stableEmbedding) {
        this(nLayer, nHead, nEmbd, blockSize, stableEmbedding, "", 0, 1, dev.tandem.nn.ParScale.DEFAULT_PREFIX, 0,
                MoEConfig.DENSE.topK(), MoEConfig.DENSE.capacityFactor(), MoEConfig.DENSE.dropless(), MoEConfig.DENSE.moeEvery(),
                MoEConfig.DENSE.auxLossCoef(), MoEConfig.DENSE.zLossCoef(), 0);
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
        if (initFrom == null) initFrom = "";
        if (peqa != 0 && peqa != 3 && peqa != 4) {
            throw new TandemException("model.peqa must be 0 (off), 3 or 4 (bits of the quantized weights), got " + peqa);
        }
        Sections.positive("model.parscale", parscale);
        Sections.positive("model.parscale_prefix", parscalePrefix);
        new MoEConfig(nExperts, topK, capacityFactor, dropless, moeEvery, auxLossCoef, zLossCoef, routerSkew); // validates the MoE keys
    }

    /** The experts this section asks for ({@link MoEConfig#DENSE} when n_experts = 0). */
    public MoEConfig experts() {
        return nExperts == 0 ? MoEConfig.DENSE : new MoEConfig(nExperts, topK, capacityFactor, dropless, moeEvery, auxLossCoef, zLossCoef, routerSkew);
    }
}
