package dev.tandem.api;

/**
 * What the planner predicts for one plan on this machine.
 *
 * @param plan              the plan
 * @param stepMillis        predicted time of one optimizer step, in milliseconds
 * @param memoryBytesPerRank predicted bytes on the busiest rank (parameters, gradients, optimizer
 *                          state, activations, buffers and a reserve)
 * @param mfu               predicted model FLOPs utilization, 0–1
 * @param fits              whether the plan fits in memory (always true for the plans a search returns)
 */
public record PlanPrediction(ParallelPlan plan, double stepMillis, double memoryBytesPerRank, double mfu, boolean fits) {}
