package dev.tandem.plan;

/**
 * Activation bytes one transformer layer keeps for its backward, per Korthikanti et al. 2022
 * (16-bit activations, 1-byte dropout masks), built from the tensors the layer saves so the
 * closed forms of the paper come out as sums and can be checked against them:
 *
 * <pre>
 *   saved tensor                          bytes        split by t   split by t with sequence parallel
 *   LayerNorm 1 and 2 inputs              2·2sbh       no           yes
 *   QKV GEMM input                        2sbh         no           yes
 *   Q and K (for QKᵀ)                     4sbh         yes          yes
 *   softmax output, dropout mask, output  5as²b        yes          yes   (attention core)
 *   V                                     2sbh         yes          yes
 *   output-projection input               2sbh         yes          yes
 *   attention dropout mask                sbh          no           yes
 *   MLP up input                          2sbh         no           yes
 *   GeLU input and output                 2·2sbf       yes          yes
 *   MLP dropout mask                      sbh          no           yes
 * </pre>
 *
 * With f = 4h: no tensor parallelism sbh(34 + 5as/h); tp sbh(10 + 24/t + 5as/(ht)); tp + sp
 * (sbh/t)(34 + 5as/h). Selective recompute drops the attention core; full recompute keeps only
 * the layer input, 2sbh (sharded by t under sequence parallelism).
 */
public final class ActivationMemory {
    private ActivationMemory() {}

    public static double perLayer(ModelSpec m, int microBatch, int tp, boolean sp, Recompute rc) {
        double s = m.seq(), b = microBatch, h = m.hidden(), a = m.heads(), f = m.ffnHidden(), t = tp;
        double sbh = s * b * h;
        double replicatedDiv = sp ? t : 1;
        if (rc == Recompute.FULL) return 2 * sbh / replicatedDiv;
        double replicated = 2 * 2 * sbh + 2 * sbh + sbh + 2 * sbh + sbh; // 10 sbh
        double split = 4 * sbh + 2 * sbh + 2 * sbh + 2 * 2 * s * b * f; // 24 sbh for f = 4h
        double core = rc == Recompute.SELECTIVE ? 0 : attentionCore(m, microBatch, tp);
        return replicated / replicatedDiv + split / t + core;
    }

    /** Softmax output (2), dropout mask (1) and dropout output (2 bytes) per score: 5as²b/t. */
    public static double attentionCore(ModelSpec m, int microBatch, int tp) {
        double s = m.seq();
        return 5.0 * m.heads() * s * s * microBatch / tp;
    }
}
