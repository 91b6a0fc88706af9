package dev.tandem.parallel.pipeline;

/**
 * One step of a pipeline schedule on one rank: the forward or backward pass of one micro-batch
 * through one of the rank's model chunks.
 */
public record Action(boolean forward, int microBatch, int chunk) {

    public static Action forward(int microBatch, int chunk) {
        return new Action(true, microBatch, chunk);
    }

    public static Action backward(int microBatch, int chunk) {
        return new Action(false, microBatch, chunk);
    }

    /** E.g. {@code F3} (forward of micro-batch 3) or {@code B0.1} (backward of micro-batch 0, chunk 1). */
    @Override
    public String toString() {
        return (forward ? "F" : "B") + microBatch + (chunk > 0 ? "." + chunk : "");
    }
}
