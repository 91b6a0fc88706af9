package dev.tandem.nn;

import dev.tandem.plan.Recompute;

/**
 * Activation bytes one transformer block keeps from its forward for its backward, in each
 * recompute mode, counted from what the ops allocate (float32, no dropout). With N = batch·time
 * rows, C = n_embd, H = n_head, T = time, in floats:
 *
 * <pre>
 *   ln_1, ln_2: output + mean + rstd             2·(NC + 2N)
 *   c_attn output (q | k | v)                    3NC
 *   attention output                             NC
 *   attention: one log-sum-exp per query         NH        (selective)
 *              the probabilities, T×T per head   NHT       (none)
 *   c_proj outputs and the two residual sums     4NC
 *   c_fc output and GELU output                  8NC
 *   ----------------------------------------------------
 *   selective  18NC + NH + 4N      none  18NC + NHT + 4N      full  NC (the block's output)
 * </pre>
 *
 * The tape keeps every activation until the op that produced it has run its backward, so the
 * outputs of c_proj (which the residual add does not need) count too. Under full recompute the
 * block keeps only its output, which is the next block's input; its other activations exist
 * again only while its backward runs.
 */
public final class BlockActivations {
    private BlockActivations() {}

    /** Bytes one block of {@code model} keeps in {@code mode} for {@code batch} sequences of {@code time} tokens. */
    public static long bytes(Recompute mode, GPTConfig model, int batch, int time) {
        long n = (long) batch * time, c = model.nEmbd(), h = model.nHead();
        long floats = switch (mode) {
            case SELECTIVE -> 18 * n * c + n * h + 4 * n;
            case NONE -> 18 * n * c + n * h * time + 4 * n;
            case FULL -> n * c;
        };
        return 4 * floats;
    }
}
