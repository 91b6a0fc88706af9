package dev.tandem.api;

import dev.tandem.TandemException;
import dev.tandem.data.BpeTrainer;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import java.nio.file.Path;

/**
 * A byte-level BPE tokenizer (GPT-2's kind): text to token ids and back. It reads and writes
 * Hugging Face's {@code tokenizer.json}, so a model directory Tandem writes loads in the wider
 * ecosystem. Immutable; safe to share between threads.
 */
public final class TextTokenizer {
    private final Tokenizer tokenizer;

    private TextTokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Reads a Hugging Face {@code tokenizer.json} (byte-level BPE); a missing or unreadable file throws naming it. */
    public static TextTokenizer load(Path tokenizerJson) {
        return new TextTokenizer(TokenizerJson.load(tokenizerJson));
    }

    /**
     * Trains a byte-level BPE of {@code vocabSize} tokens (at least 257: the 256 bytes and an
     * end-of-text token) on {@code text}. Seconds for a megabyte; deterministic.
     */
    public static TextTokenizer train(String text, int vocabSize) {
        if (text == null || text.isEmpty()) throw new TandemException("the text to train a tokenizer on is empty");
        if (vocabSize < BpeTrainer.MIN_VOCAB || vocabSize > BpeTrainer.MAX_VOCAB) {
            throw new TandemException("the tokenizer's vocabulary size must be between " + BpeTrainer.MIN_VOCAB + " (the 256 bytes and "
                    + "an end-of-text token) and " + BpeTrainer.MAX_VOCAB + ", got " + vocabSize);
        }
        return new TextTokenizer(BpeTrainer.train(text, vocabSize, BpeTrainer.Progress.NONE));
    }

    /** The tokenizer of a model directory or checkpoint, as training wrote it. */
    static TextTokenizer of(Tokenizer tokenizer) {
        return new TextTokenizer(tokenizer);
    }

    /** Tokens in the vocabulary; ids are {@code 0 .. vocabSize() - 1}. */
    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    /** The token ids of {@code text}. */
    public int[] encode(String text) {
        return tokenizer.encode(text);
    }

    /**
     * The text of {@code ids} (bytes that do not form valid UTF-8 become U+FFFD); an id outside the
     * vocabulary throws {@link TandemException} naming it.
     */
    public String decode(int[] ids) {
        try {
            return tokenizer.decode(ids);
        } catch (IllegalArgumentException e) {
            throw new TandemException(e.getMessage(), e);
        }
    }

    /** Writes the tokenizer as a Hugging Face {@code tokenizer.json}. */
    public void save(Path tokenizerJson) {
        TokenizerJson.save(tokenizer, tokenizerJson);
    }

    Tokenizer internal() {
        return tokenizer;
    }

    /** "byte-level BPE, vocab N". */
    @Override
    public String toString() {
        return "byte-level BPE, vocab " + vocabSize();
    }
}
