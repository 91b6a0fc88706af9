package dev.tandem.data;

import dev.tandem.TandemException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Token ids a program holds, as a {@link DataSource}: copied once (checked against the vocabulary)
 * into memory that the garbage collector frees, and shared read-only by every rank of a run in
 * this process. With a tokenizer, evaluation reports bits per byte and the model directory gets
 * its {@code tokenizer.json}; without one, token ids are all the run knows.
 */
public final class InMemoryTokens implements DataSource {
    private final MemorySegment tokens; // int32 little-endian, TokenFile's layout
    private final int vocabSize;
    private final Tokenizer tokenizer;
    private final String description;

    /**
     * @param ids         the token ids, each in {@code [0, vocabSize)}
     * @param tokenizer   what made them, or null; when given, its vocabulary must be {@code vocabSize}
     * @param description what the tokens are, for messages ("12,345 tokens of text in memory")
     */
    public InMemoryTokens(int[] ids, int vocabSize, Tokenizer tokenizer, String description) {
        if (vocabSize < 1) throw new TandemException("the vocabulary size must be positive, got " + vocabSize);
        if (tokenizer != null && tokenizer.vocabSize() != vocabSize) {
            throw new TandemException("the tokenizer has " + tokenizer.vocabSize() + " tokens but the vocabulary size given is " + vocabSize);
        }
        if (ids.length < 2) {
            throw new TandemException("the dataset has " + ids.length + " token(s): training needs at least block_size + 1 tokens for "
                    + "training and as many for validation");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new TandemException("token " + i + " is " + ids[i] + ", outside the vocabulary of " + vocabSize
                        + " (ids must be 0.." + (vocabSize - 1) + ")");
            }
        }
        this.tokens = Arena.ofAuto().allocate(4L * ids.length, 4);
        MemorySegment.copy(ids, 0, tokens, TokenFile.TOKEN, 0, ids.length);
        this.vocabSize = vocabSize;
        this.tokenizer = tokenizer;
        this.description = description;
    }

    /** The tokens of {@code text} as {@code tokenizer} encodes them. */
    public static InMemoryTokens ofText(String text, Tokenizer tokenizer) {
        if (text == null || text.isEmpty()) throw new TandemException("the text to train on is empty");
        int[] ids = tokenizer.encode(text);
        return new InMemoryTokens(ids, tokenizer.vocabSize(), tokenizer,
                String.format("%,d characters of text in memory (%,d tokens)", text.length(), ids.length));
    }

    /** How many tokens. */
    public long size() {
        return tokens.byteSize() / 4;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** The tokenizer, or null for ids given without one. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public TokenDataset open(Context context) {
        return TokenDataset.inMemory(tokens, vocabSize, tokenizer, context.validationFraction());
    }

    @Override
    public String describe() {
        return description;
    }
}
