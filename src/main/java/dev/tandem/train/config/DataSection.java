package dev.tandem.train.config;

import dev.tandem.TandemException;

/**
 * {@code [data]}: what to train on and how much per step.
 *
 * @param corpus      a text file (paths relative to the working directory, then to Tandem's home)
 * @param tokenizer   the tokenizer file; trained on the corpus with {@code vocab_size} when missing
 * @param valFraction the tail of the corpus held out for validation
 * @param batchSize   sequences per optimizer step, over all data-parallel replicas
 * @param documents   a corpus of separate documents (a folder of text files, or a .jsonl file with a
 *                    "text" field) to train on instead of {@code corpus}, packed into rows with
 *                    attention and positions per document; empty = train on {@code corpus}
 */
public record DataSection(String corpus, String tokenizer, int vocabSize, double valFraction, int batchSize, String documents) {
    public DataSection {
        if (documents == null) documents = "";
        Sections.nonBlank("data.corpus", corpus);
        Sections.nonBlank("data.tokenizer", tokenizer);
        Sections.positive("data.vocab_size", vocabSize);
        Sections.positive("data.batch_size", batchSize);
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new TandemException("data.val_fraction must be between 0 and 1 (the share of the corpus held out), got " + valFraction);
        }
    }
}
