package dev.tandem.data;

/**
 * Where a {@link Batcher} is in its stream of training batches: the whole of its state. Batch
 * {@code step} is a pure function of (seed, step), so saving this record in a checkpoint and
 * {@link Batcher#seek restoring} it continues with exactly the batches an uninterrupted run would
 * have seen. A plain record: Jackson writes and reads it as {@code {"seed":…, "step":…}}.
 */
public record DataPosition(long seed, long step) {
    public DataPosition {
        if (step < 0) throw new IllegalArgumentException("data step " + step + " is negative");
    }
}
