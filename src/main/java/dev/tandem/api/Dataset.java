package dev.tandem.api;

import dev.tandem.TandemException;
import dev.tandem.data.DataSource;
import dev.tandem.data.InMemoryTokens;
import dev.tandem.train.CorpusSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The tokens a training reads: token ids a program holds, text with its tokenizer, or a corpus file
 * with its {@code tokenizer.json}. A run holds out the last {@link Training.Builder#valFraction
 * fraction} of the tokens (default 0.1) for validation and draws training windows of
 * {@code blockSize + 1} tokens from the rest, so both parts need more tokens than the context.
 *
 * <p>Tokens given in memory are checked against the vocabulary and copied once; the program needs
 * to write no file. With a tokenizer, evaluations report bits per byte and the model directory
 * gets the tokenizer (so {@link TrainedModel#generate(String, int)} works); token ids without
 * one train all the same, but evaluations have no bits per byte and generation is by token ids.
 * Immutable; one dataset can feed several trainings.
 */
public final class Dataset {
    private final DataSource source;
    private final int vocabSize;
    private final TextTokenizer tokenizer; // null: ids without a tokenizer
    private final String corpusKey, tokenizerKey; // what a run's config records as data.corpus and data.tokenizer

    private Dataset(DataSource source, int vocabSize, TextTokenizer tokenizer, String corpusKey, String tokenizerKey) {
        this.source = source;
        this.vocabSize = vocabSize;
        this.tokenizer = tokenizer;
        this.corpusKey = corpusKey;
        this.tokenizerKey = tokenizerKey;
    }

    /** Tokens in memory: the config records what they are in place of file names. */
    private static Dataset inMemory(InMemoryTokens tokens, TextTokenizer tokenizer) {
        return new Dataset(tokens, tokens.vocabSize(), tokenizer, "(" + tokens.describe() + ")", tokenizer == null ? "(none)" : "(in memory)");
    }

    /**
     * Token ids, each in {@code [0, vocabSize)}, without a tokenizer. An id outside the vocabulary
     * throws {@link TandemException} naming its index and value.
     */
    public static Dataset fromTokens(int[] ids, int vocabSize) {
        return inMemory(new InMemoryTokens(ids, vocabSize, null, String.format("%,d token ids in memory", ids.length)), null);
    }

    /** Token ids made by {@code tokenizer} (each below its vocabulary size). */
    public static Dataset fromTokens(int[] ids, TextTokenizer tokenizer) {
        return inMemory(new InMemoryTokens(ids, tokenizer.vocabSize(), tokenizer.internal(), String.format("%,d tokens in memory", ids.length)),
                tokenizer);
    }

    /** The tokens of {@code text} as {@code tokenizer} encodes them (empty text throws). */
    public static Dataset fromText(String text, TextTokenizer tokenizer) {
        return inMemory(InMemoryTokens.ofText(text, tokenizer.internal()), tokenizer);
    }

    /**
     * A UTF-8 corpus file and the {@code tokenizer.json} to encode it with, read as {@code tandem
     * train} reads its {@code [data]} files: encoded once into a token cache under the run's
     * {@code <runsDir>/cache}, then memory-mapped. Both files must exist (train a tokenizer with
     * {@link TextTokenizer#train} and {@link TextTokenizer#save}, or {@code tandem tokenizer train}).
     */
    public static Dataset fromFiles(Path corpus, Path tokenizerJson) {
        if (!Files.isRegularFile(corpus)) throw new TandemException("corpus " + corpus + " does not exist");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new TandemException("tokenizer file " + tokenizerJson + " does not exist: train one with TextTokenizer.train(text, "
                    + "vocabSize).save(path) or './tandem tokenizer train'");
        }
        TextTokenizer tok = TextTokenizer.load(tokenizerJson);
        return new Dataset(new CorpusSource(corpus.toString(), tokenizerJson.toString(), tok.vocabSize(), null), tok.vocabSize(), tok,
                corpus.toString(), tokenizerJson.toString());
    }

    /**
     * A config's {@code [data]} files (what {@code tandem train} reads), relative paths looked for in
     * the working directory, then in {@code home} (may be null); the vocabulary is the tokenizer's,
     * known once a run opens it.
     */
    static Dataset ofConfig(dev.tandem.train.config.DataSection data, Path home) {
        return new Dataset(CorpusSource.of(data, home), -1, null, data.corpus(), data.tokenizer());
    }

    /** Token ids are below this: the model's vocabulary. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The tokenizer the tokens were made with; empty for token ids given without one. */
    public Optional<TextTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    DataSource source() {
        return source;
    }

    String corpusKey() {
        return corpusKey;
    }

    String tokenizerKey() {
        return tokenizerKey;
    }

    /** Whether the tokens are a config's {@code [data]} files, whose vocabulary the config knows. */
    boolean fromConfig() {
        return vocabSize < 0;
    }

    /** What the tokens are, in words. */
    @Override
    public String toString() {
        return source.describe();
    }
}
