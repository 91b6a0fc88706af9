package dev.tandem.plan;

/**
 * ZeRO stages (Rajbhandari et al.): which model states are sharded over the data-parallel group.
 * An enum is the closed set; each constant answers the sharding questions the cost model asks.
 */
public enum ZeroStage {
    /** Plain data parallel: every rank holds everything, gradients are all-reduced. */
    ZERO0,
    /** Optimizer states sharded. */
    ZERO1,
    /** Optimizer states and gradients sharded (gradients reduce-scattered every micro-batch). */
    ZERO2,
    /** Also parameters: gathered layer by layer before forward and again before backward. */
    ZERO3;

    public int level() {
        return ordinal();
    }

    public boolean shardsOptimizer() {
        return this != ZERO0;
    }

    public boolean shardsGradients() {
        return this == ZERO2 || this == ZERO3;
    }

    public boolean shardsParameters() {
        return this == ZERO3;
    }

    /** Whether each rank updates only its shard of parameters it holds whole, which must then be all-gathered (stages 1 and 2). */
    public boolean gathersUpdatedShards() {
        return shardsOptimizer() && !shardsParameters();
    }

    public static ZeroStage of(int level) {
        if (level < 0 || level > 3) throw new PlanInputException("zero (the ZeRO stage) must be 0, 1, 2 or 3, got " + level);
        return values()[level];
    }
}
