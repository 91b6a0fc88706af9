package dev.tandem.parallel;

import dev.tandem.TandemException;
import java.util.List;
import java.util.Set;

/**
 * How one training step is split across ranks: plain data, validated once, so options that do not
 * compose are refused here rather than failing later. The planner produces the same fields (see
 * {@code PlanCandidate}); a config file or the command line can write one by hand.
 *
 * @param dp               data-parallel ranks
 * @param tp               tensor-parallel ranks (heads and MLP columns split; vocabulary-parallel output)
 * @param pp               pipeline stages
 * @param zeroStage        0 = replicate everything (DDP), 1 = shard optimizer state, 2 = also
 *                         gradients, 3 = also parameters
 * @param microBatches     micro-batches per optimizer step (per data-parallel rank); with pp > 1
 *                         they are what the pipeline schedule interleaves
 * @param recompute        activation recomputation: none, selective (attention core) or full (only
 *                         the block input kept), or a comma list with one mode per layer
 * @param offload          optimizer state offloaded to host memory (not built; refused)
 * @param optimizer        optimizer name
 * @param stateDtype       optimizer state precision: "f32" (8-bit states are their own optimizers)
 * @param sequenceParallel with tp > 1: LayerNorm and residual regions split along the sequence
 * @param schedule         pipeline schedule: gpipe, 1f1b or interleaved
 * @param virtualStages    model chunks per pipeline rank (interleaved 1F1B; 1 otherwise)
 * @param stageLayers      layers per (virtual) pipeline stage in order, e.g. {@code [3, 1]}; empty =
 *                         balanced by the planner's FLOP counts
 */
public record Plan(int dp, int tp, int pp, int zeroStage, int microBatches, String recompute, boolean offload,
                   String optimizer, String stateDtype, boolean sequenceParallel, String schedule, int virtualStages,
                   List<Integer> stageLayers) {

    public static final Set<String> RECOMPUTE_MODES = Set.of("none", "selective", "full");
    public static final Set<String> SCHEDULES = Set.of("gpipe", "1f1b", "interleaved");

    public Plan {
        if (dp < 1 || tp < 1 || pp < 1) throw new TandemException("mesh sizes must be >= 1, got dp=" + dp + " tp=" + tp + " pp=" + pp);
        if (zeroStage < 0 || zeroStage > 3) throw new TandemException("zero stage must be 0, 1, 2 or 3, got " + zeroStage);
        if (microBatches < 1) throw new TandemException("micro_batches must be >= 1, got " + microBatches);
        for (String mode : recomputeModes(recompute)) {
            if (!RECOMPUTE_MODES.contains(mode)) {
                throw new TandemException("recompute must be none, selective or full (or a comma list, one per layer), got '" + recompute + "'");
            }
        }
        if (offload) throw new TandemException("optimizer-state offload is not yet in the runtime; use offload=false");
        if (!stateDtype.equals("f32")) throw new TandemException("optimizer state dtype '" + stateDtype + "' is not supported; use f32");
        if (tp > 1 && (optimizer.equals("muon") || optimizer.equals("soap"))) {
            throw new TandemException(optimizer + " updates whole matrices, and with tp = " + tp + " each rank holds a block of each: "
                    + "use tp = 1 (data parallelism and ZeRO keep matrices whole for it) or an element-wise optimizer such as adamw");
        }
        if (sequenceParallel && tp == 1) throw new TandemException("sequence_parallel needs tp > 1 (it splits the tensor-parallel group's work)");
        if (!SCHEDULES.contains(schedule)) throw new TandemException("pp_schedule must be gpipe, 1f1b or interleaved, got '" + schedule + "'");
        stageLayers = List.copyOf(stageLayers);
        if (!stageLayers.isEmpty() && stageLayers.size() != pp * virtualStages) {
            throw new TandemException("pp_layers lists " + stageLayers.size() + " stages but pp·virtual_stages = " + pp + "·" + virtualStages
                    + " = " + pp * virtualStages + ": give one layer count per stage, or leave it empty to balance by FLOPs");
        }
        if (virtualStages < 1) throw new TandemException("virtual_stages must be >= 1, got " + virtualStages);
        if (schedule.equals("interleaved") != (virtualStages > 1)) {
            throw new TandemException("the interleaved schedule needs virtual_stages >= 2, and virtual_stages > 1 needs pp_schedule=interleaved"
                    + " (got " + schedule + " with virtual_stages=" + virtualStages + ")");
        }
    }

    /** The per-layer recompute modes as written ({@code full} or {@code full,none,...}). */
    public static List<String> recomputeModes(String spec) {
        return List.of(spec.strip().split("\\s*,\\s*"));
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
