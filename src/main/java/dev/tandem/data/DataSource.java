package dev.tandem.data;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Where a training run's tokens come from: a corpus file and its tokenizer (the config's
 * {@code [data]} section, {@code dev.tandem.train.CorpusSource}), or tokens a program holds in
 * memory ({@link InMemoryTokens}). The trainer opens one {@link TokenDataset} per rank; ranks that
 * are threads of one process call {@link #open} concurrently, so a source is immutable or
 * thread-safe.
 */
public interface DataSource {
    /**
     * What a rank opening the data tells the source.
     *
     * @param validationFraction the tail of the tokens held out for validation ({@code data.val_fraction})
     * @param cacheDir           where the source may keep derived files (a corpus' token cache)
     * @param ranks              ranks in the job (a source refuses to train a tokenizer on each of several)
     * @param log                progress messages (rank 0's output; other ranks discard them)
     */
    record Context(double validationFraction, Path cacheDir, int ranks, Consumer<String> log) {}

    /** Opens the tokens for one rank, split into training and validation tokens; the caller closes the dataset. */
    TokenDataset open(Context context);

    /**
     * The {@code tokenizer.json} the tokens were made with, when it is a file (valid once {@link
     * #open} has returned): the trainer copies it next to the model and into checkpoints. Null when
     * there is none on disk: the trainer then writes the dataset's tokenizer, if it has one, into the
     * run directory.
     */
    default Path tokenizerFile() {
        return null;
    }

    /** The tokens in words, for the run's {@code data:} line: a corpus path, or "12,345 tokens in memory". */
    String describe();
}
