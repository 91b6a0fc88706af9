package dev.tandem.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Objects;

/**
 * How one training step is split across ranks: plain, immutable data, the one form of a parallel
 * plan. The planner produces it ({@link PlanSearch}), a config's {@code [parallel]} section or a
 * label ({@code --parallel.plan}) writes it by hand, a checkpoint manifest stores it, the runtime
 * applies it to a model, and the cost model predicts it ({@link CostModel#predict}). A plan has one
 * label form ({@link #label()}, {@link #parse}) and one JSON form ({@link #toJson()}, {@link
 * #fromJson}); both read back to an equal plan.
 *
 * <p>Options that cannot be combined are refused by one check, {@link #validate}, against the
 * model, the number of ranks and the global batch, with messages that name the key and the fix.
 *
 * @param mesh             sizes of the parallel axes (dp × cp × tp × pp, islands) and hybrid data/context parallelism
 * @param zero             ZeRO stage over the data-parallel group
 * @param microBatches     micro-batches per optimizer step on each data-parallel replica; with a
 *                         pipeline they are what the schedule interleaves
 * @param schedule         pipeline schedule (1F1B when pp = 1)
 * @param stageLayers      layers per (virtual) pipeline stage in order, e.g. {@code [3, 1]}; empty =
 *                         balanced by FLOPs
 * @param recompute        activation recomputation, for all layers or per layer
 * @param sequenceParallel with tp > 1: LayerNorm and residual regions split along the sequence
 * @param offload          what lives in host memory
 * @param precision        number formats of parameters and gradients
 * @param optimizer        the optimizer and the precision of its state
 * @param outer            what runs between islands (low-communication training) and over which link
 * @param experts          where an MoE model's experts live (expert group size {@code ep}, {@code moe = ep | fssdp})
 * @param attention        how the attention core runs: scores materialized, or FlashAttention-style
 */
public record Plan(MeshShape mesh, ZeroStage zero, int microBatches, Schedule schedule, List<Integer> stageLayers,
                   RecomputePolicy recompute, boolean sequenceParallel, Offload offload, TrainingPrecision precision,
                   OptimizerSpec optimizer, OuterSpec outer, ExpertLayout experts, AttentionKernel attention) {

    /** A plan whose attention materializes its scores ({@link AttentionKernel#MATERIALIZED}). */
    public Plan(MeshShape mesh, ZeroStage zero, int microBatches, Schedule schedule, List<Integer> stageLayers,
                RecomputePolicy recompute, boolean sequenceParallel, Offload offload, TrainingPrecision precision,
                OptimizerSpec optimizer, OuterSpec outer, ExpertLayout experts) {
        this(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, outer, experts,
                AttentionKernel.MATERIALIZED);
    }

    /** A plan with every expert on every rank ({@link ExpertLayout#NONE}). */
    public Plan(MeshShape mesh, ZeroStage zero, int microBatches, Schedule schedule, List<Integer> stageLayers,
                RecomputePolicy recompute, boolean sequenceParallel, Offload offload, TrainingPrecision precision,
                OptimizerSpec optimizer, OuterSpec outer) {
        this(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, outer,
                ExpertLayout.NONE);
    }

    /** A plan of one island (no outer algorithm) whose experts are laid out as {@code experts}. */
    public Plan(MeshShape mesh, ZeroStage zero, int microBatches, Schedule schedule, List<Integer> stageLayers,
                RecomputePolicy recompute, boolean sequenceParallel, Offload offload, TrainingPrecision precision,
                OptimizerSpec optimizer, ExpertLayout experts) {
        this(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, OuterSpec.NONE,
                experts);
    }

    /** One rank, nothing split, selective recompute, float32 AdamW: the default of a config. */
    public static final Plan SINGLE = new Plan(new MeshShape(1, 1, 1), ZeroStage.ZERO0, 1, new Schedule.OneFOneB(), List.of(),
            RecomputePolicy.SELECTIVE, false, Offload.NONE, TrainingPrecision.FP32, OptimizerSpec.ADAMW, OuterSpec.NONE, ExpertLayout.NONE,
            AttentionKernel.MATERIALIZED);

    /** A plan of one island (no outer algorithm). */
    public Plan(MeshShape mesh, ZeroStage zero, int microBatches, Schedule schedule, List<Integer> stageLayers, RecomputePolicy recompute,
                boolean sequenceParallel, Offload offload, TrainingPrecision precision, OptimizerSpec optimizer) {
        this(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, OuterSpec.NONE,
                ExpertLayout.NONE);
    }

    public Plan {
        Objects.requireNonNull(mesh, "mesh");
        Objects.requireNonNull(zero, "zero");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(recompute, "recompute");
        Objects.requireNonNull(offload, "offload");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(outer, "outer");
        Objects.requireNonNull(experts, "experts");
        Objects.requireNonNull(attention, "attention");
        if (microBatches < 1) throw new PlanInputException("micro_batches must be >= 1, got " + microBatches);
        stageLayers = List.copyOf(stageLayers);
    }

    public int dp() {
        return mesh.dp();
    }

    public int tp() {
        return mesh.tp();
    }

    public int pp() {
        return mesh.pp();
    }

    public int islands() {
        return mesh.islands();
    }

    /** Context-parallel ranks per sequence (1 = none); see {@link MeshShape#cp}. */
    public int cp() {
        return mesh.cp();
    }

    /** Ranks of an expert group (1 = every rank holds every expert). */
    public int ep() {
        return experts.ep();
    }

    /** Ranks this plan needs: islands·dp·cp·tp·pp. */
    public int worldSize() {
        return mesh.worldSize();
    }

    /** Model chunks per pipeline rank (1 unless interleaved). */
    public int virtualStages() {
        return schedule.chunks();
    }

    /** This plan on another mesh. */
    public Plan withMesh(MeshShape m) {
        return new Plan(m, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, outer, experts, attention);
    }

    /** This plan with its experts laid out as {@code e}. */
    public Plan withExperts(ExpertLayout e) {
        return new Plan(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, outer, e, attention);
    }

    /** This plan with another optimizer. */
    public Plan withOptimizer(OptimizerSpec o) {
        return new Plan(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, o, outer, experts, attention);
    }

    /** This plan in another precision. */
    public Plan withPrecision(TrainingPrecision p) {
        return new Plan(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, p, optimizer, outer, experts, attention);
    }

    /** This plan with another outer algorithm (or link). */
    public Plan withOuter(OuterSpec o) {
        return new Plan(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, o, experts, attention);
    }

    /** This plan with its attention core run as {@code a}. */
    public Plan withAttention(AttentionKernel a) {
        return new Plan(mesh, zero, microBatches, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, outer, experts, a);
    }

    /** This plan with another micro-batch count. */
    public Plan withMicroBatches(int m) {
        return new Plan(mesh, zero, m, schedule, stageLayers, recompute, sequenceParallel, offload, precision, optimizer, outer, experts,
                attention);
    }

    /** Sequences in one micro-batch on one rank, for a step of {@code globalBatch} sequences (split over islands and replicas). */
    public int rowsPerMicroBatch(int globalBatch) {
        return globalBatch / (islands() * dp() * microBatches);
    }

    /** Layers on the busiest pipeline rank: ⌈layers/pp⌉ when balanced, else the largest sum of its stages. */
    public int layersPerDevice(int layers) {
        if (stageLayers.isEmpty()) return (layers + pp() - 1) / pp();
        int most = 0;
        for (int rank = 0; rank < pp(); rank++) {
            int sum = 0;
            for (int chunk = 0; chunk < virtualStages(); chunk++) sum += stageLayers.get(chunk * pp() + rank);
            most = Math.max(most, sum);
        }
        return most;
    }

    /** Throws, naming the key and the fix, unless this plan can run {@code model} on {@code worldSize} ranks with batches of {@code globalBatch} sequences. */
    public void validate(ModelSpec model, int worldSize, int globalBatch) {
        String problem = problem(model, worldSize, globalBatch);
        if (problem != null) throw new PlanInputException(problem);
    }

    /** What {@link #validate} would throw, or null. */
    public String problem(ModelSpec model, int worldSize, int globalBatch) {
        return PlanRules.problem(this, model, worldSize, globalBatch);
    }

    /** The label form, e.g. {@code dp=2 tp=1 pp=1 zero=1 micro_batches=4 schedule=1f1b recompute=selective ...}. */
    public String label() {
        return PlanFields.label(this);
    }

    /**
     * Reads a label: {@code key=value} pairs separated by spaces, with the keys of {@link #label()};
     * a key left out keeps its value in {@code base}, except {@code stage_layers} (left out =
     * balanced) and {@code virtual_stages} (left out = 1 unless the schedule is interleaved).
     */
    public static Plan parse(String label, Plan base) {
        return PlanFields.parseLabel(label, base);
    }

    /** The JSON form: an object with every key of the label. */
    public ObjectNode toJson() {
        return PlanFields.json(this);
    }

    /** Reads the JSON form (or a config table with the same keys); keys left out keep their value in {@code base}, as in {@link #parse}. */
    public static Plan fromJson(ObjectNode json, Plan base) {
        return PlanFields.parseJson(json, base);
    }
}
