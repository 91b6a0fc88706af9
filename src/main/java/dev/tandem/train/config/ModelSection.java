package dev.tandem.train.config;

import dev.tandem.TandemException;

/**
 * {@code [model]}: the GPT's shape (its vocabulary comes from the tokenizer).
 *
 * @param stableEmbedding the stable embedding of 8-bit training (a LayerNorm on the token embedding)
 */
public record ModelSection(int nLayer, int nHead, int nEmbd, int blockSize, boolean stableEmbedding) {
    public ModelSection {
        Sections.positive("model.n_layer", nLayer);
        Sections.positive("model.n_head", nHead);
        Sections.positive("model.n_embd", nEmbd);
        Sections.positive("model.block_size", blockSize);
        if (nEmbd % nHead != 0) {
            throw new TandemException("model.n_embd (" + nEmbd + ") is not divisible by model.n_head (" + nHead
                    + "): choose n_head so that each head gets n_embd / n_head features");
        }
    }
}
