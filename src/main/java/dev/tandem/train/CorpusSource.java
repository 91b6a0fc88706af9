package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.ckpt.HfImport;
import dev.tandem.data.BpeTrainer;
import dev.tandem.data.Corpus;
import dev.tandem.data.DataSource;
import dev.tandem.data.TokenDataset;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.train.config.DataSection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A UTF-8 corpus file and its tokenizer file, as {@code [data]} names them: the tokens come from
 * the corpus' token cache (built once per tokenizer, under {@code <run.runs_dir>/cache}). A missing
 * tokenizer file is trained on the corpus with {@code data.vocab_size} tokens and saved there, on a
 * one-rank run only (ranks must not each train their own). Relative paths resolve against the
 * working directory, then Tandem's checkout where one is given (so the bundled corpus is found from
 * anywhere).
 */
public final class CorpusSource implements DataSource {
    private final String corpus;
    private final String tokenizer;
    private final int vocabSize;
    private final Path home;

    /**
     * @param corpus    the corpus path ({@code data.corpus})
     * @param tokenizer the tokenizer.json path ({@code data.tokenizer})
     * @param vocabSize the vocabulary of a tokenizer trained because the file is missing ({@code data.vocab_size})
     * @param home      Tandem's checkout, where relative paths are looked for after the working directory; or null
     */
    public CorpusSource(String corpus, String tokenizer, int vocabSize, Path home) {
        this.corpus = corpus;
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.home = home;
    }

    /**
     * The source {@code [data]} describes, relative paths looked for in the working directory, then
     * in {@code home} (may be null): the document corpus of {@code data.documents} when it is set,
     * else the corpus file.
     */
    public static DataSource of(DataSection data, Path home) {
        if (!data.documents().isEmpty()) return new DocumentSource(data.documents(), data.tokenizer(), home);
        return new CorpusSource(data.corpus(), data.tokenizer(), data.vocabSize(), home);
    }

    @Override
    public TokenDataset open(Context ctx) {
        Path file = InputPaths.resolve(corpus, "data.corpus", home);
        Path tokFile = InputPaths.resolveOutput(tokenizer, home);
        // A model directory (model.init_from) without tokenizer.json: its vocab.json and merges.txt.
        Tokenizer tok = Files.isDirectory(tokFile) ? HfImport.tokenizer(tokFile) : loadOrTrainTokenizer(file, tokFile, ctx);
        return TokenDataset.open(file, tok, ctx.cacheDir(), ctx.validationFraction(), ctx.log());
    }

    /** The tokenizer.json to keep with the model; null when the tokenizer is a model directory's vocab.json + merges.txt. */
    @Override
    public Path tokenizerFile() {
        Path file = InputPaths.resolveOutput(tokenizer, home);
        return Files.isDirectory(file) ? null : file;
    }

    @Override
    public String describe() {
        try {
            return InputPaths.resolve(corpus, "data.corpus", home).toString();
        } catch (TandemException e) {
            return corpus;
        }
    }

    private Tokenizer loadOrTrainTokenizer(Path corpus, Path file, Context ctx) {
        if (Files.isRegularFile(file)) {
            Tokenizer t = TokenizerJson.load(file);
            ctx.log().accept(String.format("tokenizer: %s (vocab %d)", file, t.vocabSize()));
            return t;
        }
        if (ctx.ranks() > 1) {
            throw new TandemException("tokenizer " + file + " does not exist; train it first with "
                    + "'./tandem tokenizer train' (ranks must not each train their own)");
        }
        ctx.log().accept(String.format("tokenizer: %s not found; training a byte-level BPE with vocab %d on %s", file, vocabSize, corpus));
        Corpus text = Corpus.read(corpus);
        Tokenizer t = BpeTrainer.train(text.text(), vocabSize, BpeTrainer.Progress.NONE);
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new TandemException("cannot create " + file.getParent() + ": " + e.getMessage(), e);
        }
        TokenizerJson.save(t, file);
        ctx.log().accept("tokenizer: saved to " + file);
        return t;
    }
}
