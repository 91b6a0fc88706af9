package dev.tandem.data;

import dev.tandem.TandemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Where the training text comes from and how it is tokenized and split: the {@code [data]}
 * section of a run config. Paths are relative to the working directory.
 *
 * @param corpus             UTF-8 text file ({@code data.corpus})
 * @param tokenizer          a tokenizer.json ({@code data.tokenizer}); make one with {@code tandem tokenizer train}
 * @param validationFraction the tail fraction of tokens held out for validation ({@code data.validation_fraction})
 * @param cacheDir           where token files are cached ({@code data.cache_dir}); safe to delete
 */
public record DataConfig(Path corpus, Path tokenizer, double validationFraction, Path cacheDir) {
    public static final Path DEFAULT_CORPUS = Path.of("data", "tinyshakespeare.txt");
    public static final Path DEFAULT_TOKENIZER = Path.of("data", "tokenizer-shakespeare-2k.json");
    public static final Path DEFAULT_CACHE = Path.of("runs", "cache");

    public DataConfig {
        if (corpus == null || tokenizer == null || cacheDir == null) {
            throw new TandemException("data.corpus, data.tokenizer and data.cache_dir must be set");
        }
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new TandemException("data.validation_fraction must be between 0 and 1 (exclusive), got " + validationFraction);
        }
    }

    /** The bundled corpus with the shipped 2k tokenizer, 10% validation, cache under runs/cache. */
    public static DataConfig defaults() {
        return new DataConfig(DEFAULT_CORPUS, DEFAULT_TOKENIZER, 0.1, DEFAULT_CACHE);
    }

    /** Loads the tokenizer and opens (building if needed) the token cache. Close the result. */
    public TokenDataset open(Consumer<String> log) {
        if (!Files.isRegularFile(corpus)) throw new TandemException("data.corpus: " + corpus + " does not exist");
        if (!Files.isRegularFile(tokenizer)) {
            throw new TandemException("data.tokenizer: " + tokenizer + " does not exist; make one with "
                    + "`tandem tokenizer train --corpus " + corpus + " --vocab-size 2048 --out DIR`");
        }
        return TokenDataset.open(corpus, TokenizerJson.load(tokenizer), cacheDir, validationFraction, log);
    }
}
