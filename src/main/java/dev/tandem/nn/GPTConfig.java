package dev.tandem.nn;

import dev.tandem.TandemException;

/**
 * Shape of a GPT-2-style model. Field names follow Hugging Face's GPT2Config so a config file
 * reads the same in both worlds.
 *
 * @param stableEmbedding the stable embedding of 8-bit training (Dettmers et al.): a LayerNorm
 *                        ({@code wte_norm}) on the token embedding before the positions are added,
 *                        and Xavier-uniform initialisation of {@code wte}; not part of GPT-2
 * @param parscale        P parallel streams (ParScale, Chen et al. 2025; 1 = plain GPT-2): the P
 *                        streams share every weight, differ by learned prefix keys/values in each
 *                        layer's attention, and are combined after the final LayerNorm by a learned
 *                        aggregation ({@link ParScale})
 * @param parscalePrefix  prefix keys/values per stream and layer (the paper's 48); 0 when parscale is 1
 * @param moe             experts in place of some blocks' MLPs ({@link MoEConfig#DENSE}: none, GPT-2)
 */
public record GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding,
                        int parscale, int parscalePrefix, MoEConfig moe) {

    /** GPT-2 as published (no stable embedding). */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, false);
    }

    /** A dense model of one stream (no ParScale, no experts). */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, 1, 0, MoEConfig.DENSE);
    }

    /** A dense model of {@code parscale} streams. */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding, int parscale,
                     int parscalePrefix) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, parscale, parscalePrefix, MoEConfig.DENSE);
    }

    /** A model of one stream with {@code moe}'s experts. */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding, MoEConfig moe) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, 1, 0, moe);
    }

    /** The same model with {@code streams} ParScale streams of {@code prefix} prefix tokens each. */
    public GPTConfig withParScale(int streams, int prefix) {
        return new GPTConfig(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, streams, streams == 1 ? 0 : prefix, moe);
    }

    /** The same shape with {@code experts} in place of the MLPs that {@code experts} names. */
    public GPTConfig withMoe(MoEConfig experts) {
        return new GPTConfig(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, parscale, parscalePrefix, experts);
    }

    public GPTConfig {
        if (moe == null) moe = MoEConfig.DENSE;
        requirePositive("n_layer", nLayer);
        requirePositive("n_head", nHead);
        requirePositive("n_embd", nEmbd);
        requirePositive("vocab_size", vocabSize);
        requirePositive("block_size", blockSize);
        requirePositive("parscale", parscale);
        if (parscale > 1 && parscalePrefix < 1) {
            throw new TandemException("parscale = " + parscale + " needs prefix tokens for its streams to differ: parscale_prefix >= 1");
        }
        if (parscale == 1 && parscalePrefix != 0) {
            throw new TandemException("parscale_prefix " + parscalePrefix + " is set, but parscale is 1 (one stream has no prefix)");
        }
        if (parscale > 1 && moe.nExperts() > 0) {
            throw new TandemException("parscale = " + parscale + " with n_experts = " + moe.nExperts() + ": ParScale streams and experts "
                    + "are not combined yet; choose one (parscale = 1 or n_experts = 0)");
        }
        if (nEmbd % nHead != 0) {
            throw new TandemException("n_embd (" + nEmbd + ") is not divisible by n_head (" + nHead
                    + "): choose n_head so that each head gets n_embd / n_head features");
        }
        long params = (long) vocabSize * nEmbd + (long) blockSize * nEmbd + 12L * nLayer * nEmbd * nEmbd
                + 8L * moe.moeLayers(nLayer) * Math.max(0, moe.nExperts() - 1) * nEmbd * nEmbd;
        if (params > Integer.MAX_VALUE) {
            throw new TandemException("model has about " + params + " parameters; a single tensor or rank over 2^31 "
                    + "elements is not supported on one rank — shard it with a parallel plan");
        }
    }

    private static void requirePositive(String key, int value) {
        if (value <= 0) throw new TandemException(key + " must be a positive integer, got " + value);
    }

    public int headDim() {
        return nEmbd / nHead;
    }

    /** Parameters excluding the token and position embeddings, every expert counted. */
    public long nonEmbeddingParameters() {
        return nonEmbeddingParameters(moe.nExperts());
    }

    /**
     * Parameters a token's forward pass uses, excluding the embeddings (the N of 6·N FLOPs per
     * token): an MoE block counts its router and top_k experts.
     */
    public long activeNonEmbeddingParameters() {
        return nonEmbeddingParameters(moe.topK());
    }

    private long nonEmbeddingParameters(int expertsPerMoeBlock) {
        long c = nEmbd;
        long mlp = (c * 4 * c + 4 * c) + (4 * c * c + c);
        long perLayer = 2 * 2 * c + (c * 3 * c + 3 * c) + (c * c + c) + mlp;
        long norms = (stableEmbedding ? 2 : 1) * 2 * c; // ln_f, and wte_norm
        long moeExtra = moe.moeLayers(nLayer) * ((expertsPerMoeBlock - 1) * mlp + c * moe.nExperts());
        return nLayer * perLayer + norms + moeExtra;
    }

    public long totalParameters() {
        return nonEmbeddingParameters() + (long) vocabSize * nEmbd + (long) blockSize * nEmbd + parScaleParameters();
    }

    /**
     * What ParScale adds: prefix keys and values (2·P·L·C per layer) and the aggregation MLP,
     * Linear(P·C → C) and Linear(C → P) with biases; 0 for one stream.
     */
    public long parScaleParameters() {
        if (parscale == 1) return 0;
        long c = nEmbd, p = parscale;
        return nLayer * 2 * p * parscalePrefix * c + (p * c * c + c) + (c * p + p);
    }

    /**
     * Training FLOPs per token (PaLM convention): 6·N (N active: an MoE block counts top_k experts) for the matmuls of forward and backward
     * plus 12·n_layer·n_embd·T for attention, with T the sequence length used.
     */
    public double trainingFlopsPerToken(int seqLen) {
        if (parscale > 1) {
            // P streams through the blocks, each attending over its prefix too, then one aggregation and one head.
            double blocks = 6.0 * activeNonEmbeddingParameters() + 12.0 * nLayer * nEmbd * (seqLen + parscalePrefix);
            double aggregate = 6.0 * ((double) parscale * nEmbd * nEmbd + (double) nEmbd * parscale);
            return parscale * blocks + aggregate + 6.0 * vocabSize * nEmbd;
        }
        return 6.0 * (activeNonEmbeddingParameters() + (double) vocabSize * nEmbd) + 12.0 * nLayer * nEmbd * seqLen;
    }
}
