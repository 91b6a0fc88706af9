package dev.tandem.train;

import dev.tandem.comm.health.LinkClassifier.LinkFault;
import dev.tandem.comm.health.SlowRankDetector.SlowRank;
import java.util.List;

/**
 * What the fail-slow watch saw at a step ({@link HealthWatch}): every rank's timings of the step
 * before (the exchange that carries them ends that step's window) and the ranks flagged slow now.
 * Written to {@code metrics.jsonl} as {@code health}, so a run's trace can be read again offline.
 *
 * @param timedStep the step the timings describe (one before the step that reports them)
 * @param windowMs  each island rank's wall time over that step
 * @param inOpsMs   each island rank's time inside collectives over that step
 * @param slow      ranks flagged fail-slow now (world ranks); empty when none
 * @param links     what the link probe of this step found (world ranks; empty when nothing), or null
 *                  when this step ran no probe
 */
public record StepHealth(long timedStep, double[] windowMs, double[] inOpsMs, List<SlowRank> slow, List<LinkFault> links) {
    public StepHealth {
        windowMs = windowMs.clone();
        inOpsMs = inOpsMs.clone();
        slow = List.copyOf(slow);
        links = links == null ? null : List.copyOf(links);
    }
}
