package dev.tandem.data;

import dev.tandem.TandemException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Tokens split into training tokens and the last {@code validationFraction} of tokens for
 * validation (a contiguous tail, so no validation text also appears in a training window): a
 * corpus' cached token file ({@link #open}), or tokens a program holds in memory ({@link
 * #inMemory}).
 */
public final class TokenDataset implements AutoCloseable {
    private final TokenFile file;      // owns the mapped tokens; null for in-memory tokens
    private final Tokenizer tokenizer; // null for token ids given without a tokenizer
    private final int vocabSize;
    private final TokenSplit train;
    private final TokenSplit validation;
    private final Documents documents; // null unless the tokens are separate documents

    /** The documents of each split, for packing them into rows ({@link Packing}). */
    public record Documents(DocumentTokens train, DocumentTokens validation) {}

    /**
     * Opens (building if needed) the token cache of {@code corpus} in {@code cacheDir}. The cache
     * file is named after the corpus and the tokenizer fingerprint, so several tokenizers can share
     * one cache folder; its header still guards against a changed corpus.
     */
    public static TokenDataset open(Path corpus, Tokenizer tokenizer, Path cacheDir, double validationFraction, Consumer<String> log) {
        checkFraction(validationFraction);
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
        this(file, file.tokens(), tokenizer, tokenizer.vocabSize(), cut(file.tokens(), validationFraction), null);
    }

    /**
     * Tokens held in memory: {@code tokens} are int32 little-endian ids ({@link TokenFile}'s
     * layout), each below {@code vocabSize} (the caller checked), and must stay valid while the
     * dataset is used; closing the dataset does not free them.
     *
     * @param tokenizer what made the tokens, or null for ids without one (bits per byte are then unknown)
     */
    public static TokenDataset inMemory(MemorySegment tokens, int vocabSize, Tokenizer tokenizer, double validationFraction) {
        checkFraction(validationFraction);
        if (tokenizer != null && tokenizer.vocabSize() != vocabSize) {
            throw new TandemException("the tokenizer has " + tokenizer.vocabSize() + " tokens but the vocabulary size is " + vocabSize);
        }
        return new TokenDataset(null, tokens, tokenizer, vocabSize, cut(tokens, validationFraction), null);
    }

    /**
     * A corpus of separate documents: the last {@code validationFraction} of the documents (at
     * least one) are held out for validation, whole, so no document is in both splits.
     */
    public static TokenDataset documents(DocumentTokens docs, Tokenizer tokenizer, double validationFraction) {
        checkFraction(validationFraction);
        if (docs.count() < 2) {
            throw new TandemException("a document corpus needs at least 2 documents (one to train on, one to validate), got " + docs.count());
        }
        int val = (int) Math.max(1, Math.min(docs.count() - 1, Math.round(docs.count() * validationFraction)));
        Documents split = new Documents(docs.slice(0, docs.count() - val), docs.slice(docs.count() - val, docs.count()));
        int[] all = docs.allTokens();
        MemorySegment tokens = java.lang.foreign.Arena.ofAuto().allocate(4L * all.length, 4);
        MemorySegment.copy(all, 0, tokens, java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, all.length);
        return new TokenDataset(null, tokens, tokenizer, tokenizer.vocabSize(), split.train().tokenCount(), split);
    }

    /** Where the validation tail starts: the last {@code validationFraction} of the tokens. */
    private static long cut(MemorySegment tokens, double validationFraction) {
        long n = tokens.byteSize() / 4;
        return n - Math.round(n * validationFraction);
    }

    private TokenDataset(TokenFile file, MemorySegment tokens, Tokenizer tokenizer, int vocabSize, long cut, Documents documents) {
        this.file = file;
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.documents = documents;
        long n = tokens.byteSize() / 4;
        this.train = new TokenSplit("train", tokens.asSlice(0, cut * 4), tokenizer);
        this.validation = new TokenSplit("validation", tokens.asSlice(cut * 4, (n - cut) * 4), tokenizer);
    }

    /** The documents of each split when the corpus is separate documents, else null (one stream of tokens). */
    public Documents documents() {
        return documents;
    }

    private static void checkFraction(double validationFraction) {
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new TandemException("validation fraction must be between 0 and 1 (exclusive), got " + validationFraction);
        }
    }

    public TokenSplit train() {
        return train;
    }

    public TokenSplit validation() {
        return validation;
    }

    /** The tokenizer the tokens were made with, or null for token ids given without one. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Token ids are below this; the model's vocabulary. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The token file, or null for tokens held in memory. */
    public TokenFile file() {
        return file;
    }

    @Override
    public void close() {
        if (file != null) file.close();
    }
}
