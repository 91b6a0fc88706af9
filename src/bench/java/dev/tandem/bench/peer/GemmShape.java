package dev.tandem.bench.peer;

import java.util.ArrayList;
import java.util.List;

/**
 * One GEMM to benchmark: {@code batch} problems of op(A)[m×k]·op(B)[k×n], with {@code beta} as the
 * training step uses it (0 for forward outputs, 1 for accumulated gradients).
 */
public record GemmShape(String group, String name, int batch, boolean transA, boolean transB,
                        int m, int n, int k, float beta) {

    /**
     * LM-head columns benchmarked: GPT-2's full 50257-token head is 158 GFLOP per call, seconds per
     * repetition on 2 cores; an 8192-token slice has the same per-tile behaviour.
     */
    static final int LM_HEAD_COLUMNS = 8192;

    public double flops() {
        return 2.0 * batch * m * n * k;
    }

    public String op() {
        return (transA ? "T" : "N") + (transB ? "T" : "N");
    }

    /** Square NN sizes. */
    public static List<GemmShape> squares(int... sizes) {
        List<GemmShape> out = new ArrayList<>();
        for (int s : sizes) out.add(new GemmShape("square", s + "²", 1, false, false, s, s, s, 0f));
        return out;
    }

    /**
     * The GEMMs of one GPT-2 training step for width {@code c}, {@code rows} = B·T tokens, sequence
     * length {@code t} and {@code heads} heads: the MLP forward pair, their backward forms
     * (dX = dY·Wᵀ is NT, dW = Xᵀ·dY is TN), the LM head (at most {@link #LM_HEAD_COLUMNS} vocabulary columns), and the attention products batched over
     * B·heads (S = Q·Kᵀ, O = P·V and their backward counterparts).
     */
    public static List<GemmShape> gpt2(String group, int c, int rows, int t, int heads, int vocab) {
        int d = c / heads, batch = rows / t * heads;
        return List.of(
                new GemmShape(group, "qkv  x·W", 1, false, false, rows, 3 * c, c, 0f),
                new GemmShape(group, "fc   x·W", 1, false, false, rows, 4 * c, c, 0f),
                new GemmShape(group, "proj x·W", 1, false, false, rows, c, 4 * c, 0f),
                new GemmShape(group, "fc   dX=dY·Wᵀ", 1, false, true, rows, c, 4 * c, 1f),
                new GemmShape(group, "fc   dW=Xᵀ·dY", 1, true, false, c, 4 * c, rows, 1f),
                new GemmShape(group, "proj dX=dY·Wᵀ", 1, false, true, rows, 4 * c, c, 1f),
                new GemmShape(group, "proj dW=Xᵀ·dY", 1, true, false, 4 * c, c, rows, 1f),
                new GemmShape(group, "lm   x·Eᵀ", 1, false, true, rows, Math.min(vocab, LM_HEAD_COLUMNS), c, 0f),
                new GemmShape(group, "attn S=Q·Kᵀ", batch, false, true, t, t, d, 0f),
                new GemmShape(group, "attn O=P·V", batch, false, false, t, d, t, 0f),
                new GemmShape(group, "attn dP=dO·Vᵀ", batch, false, true, t, t, d, 0f),
                new GemmShape(group, "attn dV=Pᵀ·dO", batch, true, false, t, d, t, 0f));
    }
}
