package dev.tandem.api;

import dev.tandem.train.config.ModelSection;

/**
 * The shape of a GPT-2 style model: layers, attention heads, width and context length. The
 * vocabulary is not part of it: it comes from the data (the tokenizer's size, or the vocabulary
 * given with token ids).
 *
 * @param layers    transformer blocks ({@code model.n_layer})
 * @param heads     attention heads per block ({@code model.n_head}); must divide {@code embd}
 * @param embd      the model width ({@code model.n_embd})
 * @param blockSize the context length in tokens ({@code model.block_size})
 */
public record ModelShape(int layers, int heads, int embd, int blockSize) {
    /**
     * Checks the shape; an impossible one (a value below 1, a width that the heads do not divide)
     * throws {@link dev.tandem.TandemException} naming the config key.
     */
    public ModelShape {
        new ModelSection(layers, heads, embd, blockSize, false);
    }

    /** The same as the constructor: {@code ModelShape.of(layers, heads, embd, blockSize)}. */
    public static ModelShape of(int layers, int heads, int embd, int blockSize) {
        return new ModelShape(layers, heads, embd, blockSize);
    }

    /** Parameters of this shape with a vocabulary of {@code vocabSize} tokens (the output layer is tied to the embedding). */
    public long parameters(int vocabSize) {
        return new dev.tandem.nn.GPTConfig(layers, heads, embd, vocabSize, blockSize).totalParameters();
    }
}
