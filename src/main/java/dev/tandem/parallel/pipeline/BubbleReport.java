package dev.tandem.parallel.pipeline;

import java.util.List;
import java.util.Locale;

/**
 * How long one pipeline rank worked and waited during one step, next to what the schedule
 * predicts. The bubble is idle time over working time, from the step's start to the end of the
 * rank's last action — the quantity whose textbook value is (p−1)/m, or (p−1)/(v·m) interleaved.
 * Idle means blocked on a transfer (an activation or gradient to arrive, or a send to finish
 * before its buffer is freed); everything else the rank does is its own work.
 *
 * @param rank      pipeline rank
 * @param schedule  schedule label
 * @param spanMs    from the step's start to the end of this rank's last action
 * @param computeMs of the working time, the part inside forward and backward passes (including
 *                  data-parallel hooks); the rest is posting transfers and freeing activations
 * @param waitMs    time blocked on transfers
 * @param simulated the bubble the simulated timeline predicts for this rank (equal stages cost
 *                  their FLOPs, backward twice forward, transfers free)
 * @param formula   the textbook bubble for equal stages
 * @param actions   when each action waited, started and ended (ms from the step's start)
 */
public record BubbleReport(int rank, String schedule, double spanMs, double computeMs, double waitMs, double simulated,
                           double formula, List<ActionTiming> actions) {

    /** One action of the step on this rank: waiting for its inputs from {@code waitMs}, computing from {@code startMs} to {@code endMs}. */
    public record ActionTiming(Action action, double waitMs, double startMs, double endMs) {}

    public BubbleReport {
        actions = List.copyOf(actions);
    }

    /** Idle time over working time, measured. */
    public double measured() {
        return spanMs == waitMs ? 0 : waitMs / (spanMs - waitMs);
    }

    /** One line for the training log. */
    public String line() {
        return String.format(Locale.ROOT, "pipeline rank %d (%s): bubble %.3f measured (waited %.1f of %.1f ms; %.1f ms in passes),"
                + " %.3f simulated, %.3f by (p-1)/(v·m)", rank, schedule, measured(), waitMs, spanMs, computeMs, simulated, formula);
    }
}
