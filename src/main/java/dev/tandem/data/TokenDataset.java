package dev.tandem.data;

import dev.tandem.TandemException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A corpus as tokens: the cached token file, split into training tokens and the last
 * {@code validationFraction} of tokens for validation (a contiguous tail, so no validation text
 * also appears in a training window).
 */
public final class TokenDataset implements AutoCloseable {
    private final TokenFile file;
    private final Tokenizer tokenizer;
    private final TokenSplit train;
    private final TokenSplit validation;

    /**
     * Opens (building if needed) the token cache of {@code corpus} in {@code cacheDir}. The cache
     * file is named after the corpus and the tokenizer fingerprint, so several tokenizers can share
     * one cache folder; its header still guards against a changed corpus.
     */
    public static TokenDataset open(Path corpus, Tokenizer tokenizer, Path cacheDir, double validationFraction, Consumer<String> log) {
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new TandemException("validation fraction must be between 0 and 1 (exclusive), got " + validationFraction);
        }
        String name = corpus.getFileName() + "." + tokenizer.fingerprint().substring(0, 12) + ".tokens";
        TokenFile file = TokenFile.openOrBuild(corpus, tokenizer, cacheDir.resolve(name), log);
        return new TokenDataset(file, tokenizer, validationFraction);
    }

    /** Wraps an already open token file (which this dataset then owns). */
    public TokenDataset(TokenFile file, Tokenizer tokenizer, double validationFraction) {
        if (file.header().vocabSize() != tokenizer.vocabSize() || !file.header().tokenizerSha256().equals(tokenizer.fingerprint())) {
            file.close();
            throw new TandemException("token file " + file.path() + " was made with another tokenizer; delete it to rebuild");
        }
        this.file = file;
        this.tokenizer = tokenizer;
        long n = file.size();
        long val = Math.round(n * validationFraction);
        long cut = n - val;
        this.train = new TokenSplit("train", file.tokens().asSlice(0, cut * 4), tokenizer);
        this.validation = new TokenSplit("validation", file.tokens().asSlice(cut * 4, val * 4), tokenizer);
    }

    public TokenSplit train() {
        return train;
    }

    public TokenSplit validation() {
        return validation;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public TokenFile file() {
        return file;
    }

    @Override
    public void close() {
        file.close();
    }
}
