package dev.tandem.nn;

import dev.tandem.TandemException;

/**
 * Shape of a GPT-2-style model. Field names follow Hugging Face's GPT2Config so a config file
 * reads the same in both worlds.
 *
 * @param stableEmbedding the stable embedding of 8-bit training (Dettmers et al.): a LayerNorm
 *                        ({@code wte_norm}) on the token embedding before the positions are added,
 *                        and Xavier-uniform initialisation of {@code wte}; not part of GPT-2
 * @param moe             experts in place of some blocks' MLPs ({@link MoEConfig#DENSE}: none, GPT-2)
 */
public record GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding, MoEConfig moe) {

    /** GPT-2 as published (no stable embedding). */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, false);
    }

    /** A dense model. */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, MoEConfig.DENSE);
    }

    /** The same shape with {@code experts} in place of the MLPs that {@code experts} names. */
    public GPTConfig withMoe(MoEConfig experts) {
        return new GPTConfig(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, experts);
    }

    public GPTConfig {
        if (moe == null) moe = MoEConfig.DENSE;
        requirePositive("n_layer", nLayer);
        requirePositive("n_head", nHead);
        requirePositive("n_embd", nEmbd);
        requirePositive("vocab_size", vocabSize);
        requirePositive("block_size", blockSize);
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
        return nonEmbeddingParameters() + (long) vocabSize * nEmbd + (long) blockSize * nEmbd;
    }

    /**
     * Training FLOPs per token (PaLM convention): 6·N (N active: an MoE block counts top_k experts) for the matmuls of forward and backward
     * plus 12·n_layer·n_embd·T for attention, with T the sequence length used.
     */
    public double trainingFlopsPerToken(int seqLen) {
        return 6.0 * (activeNonEmbeddingParameters() + (double) vocabSize * nEmbd) + 12.0 * nLayer * nEmbd * seqLen;
    }
}
