package dev.tandem.train;

import dev.tandem.nn.GPTConfig;
import dev.tandem.plan.Plan;
import java.nio.file.Path;

/**
 * What a run is about to do, as its listeners learn it before the first step.
 *
 * @param runDir          where the run writes its files
 * @param model           the model's shape
 * @param plan            the plan it runs under
 * @param firstStep       optimizer steps already done (above 0 when resuming)
 * @param lastStep        the step this invocation stops after
 * @param predictedStepMs the planner's step time for this plan on this machine; NaN when it has none
 */
public record RunStart(Path runDir, GPTConfig model, Plan plan, long firstStep, long lastStep, double predictedStepMs) {}
