package dev.tandem.api;

import dev.tandem.plan.Plan;
import java.util.Objects;

/**
 * How one training step is split across ranks: the data-, tensor- and pipeline-parallel sizes, the
 * ZeRO stage, micro-batches, the pipeline schedule, activation recomputation and the rest of the
 * keys of docs/PARALLEL.md. A view of Tandem's one plan type, {@link Plan}, which the planner
 * produces, the runtime executes and checkpoints record ({@link #toPlan()} gives it).
 *
 * <p>A run has {@link #ranks()} = dp·tp·pp ranks. The optimizer is not chosen here but in
 * {@link Training.Builder#optimizer}; a plan given to a training takes the training's optimizer.
 */
public final class ParallelPlan {
    private final Plan plan;

    private ParallelPlan(Plan plan) {
        this.plan = Objects.requireNonNull(plan, "plan");
    }

    /** One rank, nothing split: the default of a training. */
    public static ParallelPlan single() {
        return new ParallelPlan(Plan.SINGLE);
    }

    /**
     * Reads a plan label: {@code key=value} pairs separated by spaces, e.g. {@code "dp=2 zero=1"} or
     * {@code "tp=2 pp=2 micro_batches=4 recompute=full"}, with the keys {@code tandem plan} prints;
     * keys left out keep their values of {@link #single()}. An unknown key or a bad value throws
     * {@link dev.tandem.TandemException} naming it.
     */
    public static ParallelPlan parse(String label) {
        if (label == null || label.isBlank()) return single();
        return new ParallelPlan(Plan.parse(label, Plan.SINGLE));
    }

    /** The view of an internal plan (for code that already holds one). */
    public static ParallelPlan of(Plan plan) {
        return new ParallelPlan(plan);
    }

    /** Ranks the plan needs: dp·tp·pp. */
    public int ranks() {
        return plan.worldSize();
    }

    /** Data-parallel replicas. */
    public int dp() {
        return plan.dp();
    }

    /** Tensor-parallel ranks per replica. */
    public int tp() {
        return plan.tp();
    }

    /** Pipeline stages per replica. */
    public int pp() {
        return plan.pp();
    }

    /** The ZeRO stage, 0–3: what the data-parallel ranks shard (optimizer state, gradients, parameters). */
    public int zeroStage() {
        return plan.zero().level();
    }

    /** Micro-batches per optimizer step on each data-parallel replica. */
    public int microBatches() {
        return plan.microBatches();
    }

    /** The label form, which {@link #parse} reads back to an equal plan. */
    public String label() {
        return plan.label();
    }

    /** Tandem's plan type, for the internal packages (checkpoints, cost model). */
    public Plan toPlan() {
        return plan;
    }

    /** Plans are equal when their labels are. */
    @Override
    public boolean equals(Object o) {
        return o instanceof ParallelPlan p && p.plan.equals(plan);
    }

    /** Consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return plan.hashCode();
    }

    /** The label. */
    @Override
    public String toString() {
        return label();
    }
}
