package dev.tandem.optim;

import dev.tandem.nn.Parameter;
import java.util.SplittableRandom;

/**
 * The model side of bitsandbytes' stable embedding, which 8-bit training relies on to keep the
 * embedding's rare-token gradients from being quantized away: Xavier-uniform initialisation
 * (here) and a LayerNorm right after the lookup (a model change: not in GPT yet). The optimizer
 * side is the {@code stable_embedding} option of the 8-bit optimizers, which keeps 32-bit state
 * for {@code wte}/{@code wpe}.
 */
public final class StableEmbedding {
    private StableEmbedding() {}

    /** Re-initialises an embedding table [rows, dim] from U(−a, a) with a = √(6 / (rows + dim)). */
    public static void xavierUniform(Parameter table, long seed) {
        if (table.value().rank() != 2) throw new IllegalArgumentException(table + " is not a matrix");
        int rows = table.value().dim(0), dim = table.value().dim(1);
        double a = Math.sqrt(6.0 / (rows + dim));
        SplittableRandom rng = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (table.name().hashCode() + 1L)));
        for (long i = 0; i < table.numel(); i++) table.value().set(i, (float) ((rng.nextDouble() * 2 - 1) * a));
    }
}
