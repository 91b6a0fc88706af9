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
 */
public record GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding,
                        int parscale, int parscalePrefix) {

    /** GPT-2 as published (no stable embedding). */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, false);
    }

    /** One stream (no ParScale). */
    public GPTConfig(int nLayer, int nHead, int nEmbd, int vocabSize, int blockSize, boolean stableEmbedding) {
        this(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, 1, 0);
    }

    /** The same model with {@code streams} ParScale streams of {@code prefix} prefix tokens each. */
    public GPTConfig withParScale(int streams, int prefix) {
        return new GPTConfig(nLayer, nHead, nEmbd, vocabSize, blockSize, stableEmbedding, streams, streams == 1 ? 0 : prefix);
    }

    public GPTConfig {
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
        if (nEmbd % nHead != 0) {
            throw new TandemException("n_embd (" + nEmbd + ") is not divisible by n_head (" + nHead
                    + "): choose n_head so that each head gets n_embd / n_head features");
        }
        long params = (long) vocabSize * nEmbd + (long) blockSize * nEmbd + 12L * nLayer * nEmbd * nEmbd;
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

    /** Parameters excluding the token and position embeddings (the N of 6·N FLOPs per token). */
    public long nonEmbeddingParameters() {
        long c = nEmbd;
        long perLayer = 2 * 2 * c + (c * 3 * c + 3 * c) + (c * c + c) + (c * 4 * c + 4 * c) + (4 * c * c + c);
        long norms = (stableEmbedding ? 2 : 1) * 2 * c; // ln_f, and wte_norm
        return nLayer * perLayer + norms;
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
     * Training FLOPs per token (PaLM convention): 6·N for the matmuls of forward and backward
     * plus 12·n_layer·n_embd·T for attention, with T the sequence length used.
     */
    public double trainingFlopsPerToken(int seqLen) {
        if (parscale > 1) {
            // P streams through the blocks, each attending over its prefix too, then one aggregation and one head.
            double blocks = 6.0 * nonEmbeddingParameters() + 12.0 * nLayer * nEmbd * (seqLen + parscalePrefix);
            double aggregate = 6.0 * ((double) parscale * nEmbd * nEmbd + (double) nEmbd * parscale);
            return parscale * blocks + aggregate + 6.0 * vocabSize * nEmbd;
        }
        return 6.0 * (nonEmbeddingParameters() + (double) vocabSize * nEmbd) + 12.0 * nLayer * nEmbd * seqLen;
    }
}
