package dev.tandem.plan;

import java.util.Locale;

/**
 * How the attention core (QKᵀ, softmax, ·V) runs. {@link #MATERIALIZED} is Megatron-LM's kernel
 * set of 2021, the one Korthikanti et al.'s activation formulas describe: the s × s scores are
 * written to memory, softmax and dropout run as separate (fused scale-mask-softmax) kernels, and
 * the probabilities are kept for the backward unless recomputed. {@link #FLASH} is
 * FlashAttention-style (Dao et al. 2022/2023), how the major frameworks run attention today:
 * one fused kernel per direction that keeps the scores on chip, skips the blocks the causal mask
 * removes, keeps one log-sum-exp per query for the backward (no s² activations) and recomputes
 * QKᵀ in the backward. Tandem's runtime attention works the flash way under selective recompute.
 */
public enum AttentionKernel {
    MATERIALIZED,
    FLASH;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AttentionKernel named(String v) {
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "materialized" -> MATERIALIZED;
            case "flash" -> FLASH;
            default -> throw new PlanInputException("attention must be materialized or flash, got '" + v + "'");
        };
    }
}
