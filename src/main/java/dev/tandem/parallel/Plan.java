package dev.tandem.parallel;

import dev.tandem.TandemException;

/**
 * How one training step is split across ranks: plain data, validated once. The planner
 * produces the same type; a config file or the command line can write one by hand.
 *
 * @param dp           data-parallel ranks
 * @param tp           tensor-parallel ranks (the runtime supports 1 so far)
 * @param pp           pipeline stages (the runtime supports 1 so far)
 * @param zeroStage    0 = replicate everything (DDP), 1 = shard optimizer state, 2 = also
 *                     gradients, 3 = also parameters
 * @param microBatches gradient-accumulation steps per optimizer step (per rank)
 * @param recompute    activation recomputation: "none" (selective and full are not built yet)
 * @param offload      optimizer state offloaded to host memory (not built yet)
 * @param optimizer    optimizer name
 * @param stateDtype   optimizer state precision: "f32" (8-bit states come with the optimizer suite)
 */
public record Plan(int dp, int tp, int pp, int zeroStage, int microBatches, String recompute, boolean offload,
                   String optimizer, String stateDtype) {

    public Plan {
        if (dp < 1 || tp < 1 || pp < 1) throw new TandemException("mesh sizes must be >= 1, got dp=" + dp + " tp=" + tp + " pp=" + pp);
        if (zeroStage < 0 || zeroStage > 3) throw new TandemException("zero stage must be 0, 1, 2 or 3, got " + zeroStage);
        if (microBatches < 1) throw new TandemException("micro_batches must be >= 1, got " + microBatches);
        if (tp != 1 || pp != 1) {
            throw new TandemException("tensor and pipeline parallelism (tp=" + tp + ", pp=" + pp
                    + ") are planned but not yet in the runtime; use tp=1 pp=1 and data parallelism");
        }
        if (!recompute.equals("none")) {
            throw new TandemException("recompute '" + recompute + "' is not yet in the runtime; use recompute=none");
        }
        if (offload) throw new TandemException("optimizer-state offload is not yet in the runtime; use offload=false");
        if (!stateDtype.equals("f32")) throw new TandemException("optimizer state dtype '" + stateDtype + "' is not supported; use f32");
    }

    /** World size this plan needs. */
    public int worldSize() {
        return dp * tp * pp;
    }

    /** Checks the plan against the job: world size and batch divisibility. */
    public void validate(int worldSize, int globalBatch) {
        if (worldSize != worldSize()) {
            throw new TandemException("the plan needs dp·tp·pp = " + dp + "·" + tp + "·" + pp + " = " + worldSize()
                    + " ranks but the job has " + worldSize + " (set nproc or the mesh sizes so they agree)");
        }
        if (globalBatch % (dp * microBatches) != 0) {
            throw new TandemException("batch_size " + globalBatch + " is not divisible by dp·micro_batches = " + dp + "·"
                    + microBatches + "; each rank needs the same number of whole sequences per micro-batch");
        }
    }

    /** Sequences per micro-batch on one rank. */
    public int rowsPerMicroBatch(int globalBatch) {
        return globalBatch / (dp * microBatches);
    }
}
