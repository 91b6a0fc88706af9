package dev.tandem.train.config;

import dev.tandem.TandemException;

/**
 * {@code [eval]}: validation loss and bits per byte.
 *
 * @param every   optimizer steps between evaluations (0: only after the last step)
 * @param batches batches of {@code data.batch_size} sequences each evaluation reads
 */
public record EvalSection(int every, int batches) {
    public EvalSection {
        if (every < 0) throw new TandemException("eval.every must be >= 0 (0 = only at the end), got " + every);
        Sections.positive("eval.batches", batches);
    }
}
