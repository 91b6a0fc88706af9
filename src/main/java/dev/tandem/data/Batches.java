package dev.tandem.data;

/**
 * Training batches addressed by step and rows: the same (step, rows) gives the same batch on every
 * rank and after a resume, so a data-parallel rank or a micro-batch computes its rows on its own.
 */
public interface Batches {
    /** Rows {@code [firstRow, firstRow + rows)} of the global batch of {@code step}. */
    Batch batch(long step, int firstRow, int rows);
}
