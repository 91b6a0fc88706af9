package dev.tandem.api;

import java.nio.file.Path;

/**
 * What a run is about to do, as {@link TrainingCallback#onStart} learns it before the first step.
 *
 * @param runDir              where the run writes its files
 * @param model               the model's shape
 * @param vocabSize           the model's vocabulary
 * @param parameters          the model's parameters
 * @param plan                the plan it runs under
 * @param firstStep           optimizer steps already done (above 0 when resuming from a checkpoint)
 * @param lastStep            the step count this run stops at
 * @param predictedStepMillis the planner's step time for this plan on this machine; NaN when it has none
 */
public record RunInfo(Path runDir, ModelShape model, int vocabSize, long parameters, ParallelPlan plan, long firstStep,
                      long lastStep, double predictedStepMillis) {}
