package dev.tandem.train;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.nn.RouterSummary;
import java.util.Map;

/**
 * What one optimizer step did: one line of the step log and of {@code metrics.jsonl}.
 *
 * @param step        optimizer steps done once this one is (1 for the first step), as evaluations
 *                    and checkpoints count them
 * @param commWaitMs  time this rank was blocked waiting for communication during the step
 * @param memoryBytes live bytes per category at the end of the step, except activations, which
 *                    report the peak within the step (they are freed before it ends)
 * @param crossIslandBytes float32 payload bytes this rank sent to other islands during the step
 *                    (low-communication training), or {@link #NO_ISLANDS}
 * @param router      the routers of an MoE model over all ranks (null for a dense model); {@code loss}
 *                    is the cross-entropy alone, without the router losses
 * @param health      the fail-slow watch's timings and flags (null with one rank per island)
 */
public record StepMetrics(long step, double loss, double gradNorm, double lr, double stepMs, double tokensPerSecond,
                          double mfu, double commWaitMs, Map<MemoryCategory, Long> memoryBytes, long crossIslandBytes,
                          RouterSummary router, StepHealth health) {

    /** {@code crossIslandBytes} of a plan without an outer algorithm. */
    public static final long NO_ISLANDS = -1;

    /** A step of a dense model, without islands. */
    public StepMetrics(long step, double loss, double gradNorm, double lr, double stepMs, double tokensPerSecond, double mfu,
                       double commWaitMs, Map<MemoryCategory, Long> memoryBytes) {
        this(step, loss, gradNorm, lr, stepMs, tokensPerSecond, mfu, commWaitMs, memoryBytes, NO_ISLANDS, null, null);
    }

    /** The llm.c-style dense line. */
    public String line(long totalSteps) {
        return String.format("step %5d/%d | loss %.4f | norm %.3f | lr %.2e | %6.0f ms | %5.1f%% MFU | %7.0f tok/s | mem %s",
                step, totalSteps, loss, gradNorm, lr, stepMs, 100 * mfu, tokensPerSecond, Memory.format(memoryBytes))
                + (router == null ? "" : " | " + router.line());
    }
}
