package dev.tandem.plan;

/**
 * Activation bytes one transformer layer keeps for its backward, per Korthikanti et al. 2022
 * (16-bit activations, 1-byte dropout masks), built from the tensors the layer saves so the
 * closed forms of the paper come out as sums and can be checked against them:
 *
 * <pre>
 *   saved tensor                          bytes            split by t   split by t with sequence parallel
 *   LayerNorm 1 and 2 inputs              2·2sbh           no           yes
 *   QKV GEMM input                        2sbh             no           yes
 *   Q and K (for QKᵀ)                     2sbh + 2sb·kv    yes          yes
 *   softmax output, dropout mask, output  5as²b            yes          yes   (materialized attention core)
 *   log-sum-exp per query                 4asb             yes          yes   (flash attention core)
 *   V                                     2sb·kv           yes          yes
 *   output-projection input               2sbh             yes          yes
 *   attention dropout mask                sbh              no           yes
 *   MLP up input                          2sbh             no           yes
 *   GeLU input and output                 2·2sbf           yes          yes
 *   (SwiGLU: gate, up and their product   3·2sbf)
 *   MLP dropout mask                      sbh              no           yes
 * </pre>
 *
 * kv = kv_dim (h for multi-head attention). With f = 4h and multi-head attention: no tensor
 * parallelism sbh(34 + 5as/h); tp sbh(10 + 24/t + 5as/(ht)); tp + sp (sbh/t)(34 + 5as/h). Selective
 * recompute drops the attention core; full recompute keeps only the layer input, 2sbh (sharded by t
 * under sequence parallelism). In an MoE layer the MLP's saved tensors are those of each expert
 * over its rows (capacity·top_k rows per token) plus the router's probabilities (4 bytes per
 * token and expert); the layers' average is returned.
 *
 * <p>In an FP8 plan the weight GEMMs keep their input for the weight gradient as the FP8 copy they
 * cast it to (Transformer Engine's default: "TE saves the columnwise quantized input for the
 * backward pass", docs/features/low_precision_training, Memory usage), 1 byte instead of 2: the QKV
 * and MLP-up inputs (sbh each) and the MLP-down input (the GeLU output or SwiGLU product, sbf). The
 * output projection's input, the attention output, is kept in 16 bits for the attention backward
 * anyway, so its FP8 copy (sbh) comes on top.
 */
public final class ActivationMemory {
    private ActivationMemory() {}

    public static double perLayer(ModelSpec m, int microBatch, int tp, boolean sp, Recompute rc) {
        return perLayer(m, microBatch, tp, sp, rc, AttentionKernel.MATERIALIZED);
    }

    public static double perLayer(ModelSpec m, int microBatch, int tp, boolean sp, Recompute rc, AttentionKernel attention) {
        return perLayer(m, microBatch, tp, sp, rc, attention, TrainingPrecision.MIXED);
    }

    public static double perLayer(ModelSpec m, int microBatch, int tp, boolean sp, Recompute rc, AttentionKernel attention,
                                  TrainingPrecision precision) {
        double s = m.seq(), b = microBatch, h = m.hidden(), f = m.ffnHidden(), t = tp;
        double sbh = s * b * h, sbkv = s * b * Math.max(1.0, (double) m.kvHeads() / t) * m.headDim() * t;
        double replicatedDiv = sp ? t : 1;
        if (rc == Recompute.FULL) return 2 * sbh / replicatedDiv;
        // Bytes per element of a weight GEMM's saved input: its FP8 copy in an FP8 plan.
        double gemmInput = precision == TrainingPrecision.FP8 ? 1 : 2;
        double projectionCopy = precision == TrainingPrecision.FP8 ? sbh : 0;
        double replicated = 2 * 2 * sbh + gemmInput * sbh + sbh + gemmInput * sbh + sbh; // 10 sbh in 16 bits
        // GeLU: its input and output; SwiGLU: gate, up and their product. The last is the MLP-down input.
        double mlpTensors = ((m.mlp() == MlpType.SWIGLU ? 3 : 2) - 1) * 2 * s * b * f + gemmInput * s * b * f;
        MoeShape moe = m.moe();
        double mlp = (1 - m.moeFraction()) * mlpTensors
                + m.moeFraction() * (moe.computedExperts() * mlpTensors + 4 * s * b * moe.experts() * t);
        double split = 2 * sbh + 2 * sbkv + 2 * sbkv + 2 * sbh + projectionCopy + mlp; // 24 sbh for f = 4h, kv = h
        double core = rc == Recompute.SELECTIVE && attention == AttentionKernel.MATERIALIZED ? 0 : attentionCore(m, microBatch, tp, attention);
        return replicated / replicatedDiv + split / t + core;
    }

    /** Softmax output (2), dropout mask (1) and dropout output (2 bytes) per score: 5as²b/t. */
    public static double attentionCore(ModelSpec m, int microBatch, int tp) {
        return attentionCore(m, microBatch, tp, AttentionKernel.MATERIALIZED);
    }

    /** Materialized: 5as²b/t (scores over the prefix keys too); flash: one float32 log-sum-exp per query and head, 4asb/t. */
    public static double attentionCore(ModelSpec m, int microBatch, int tp, AttentionKernel attention) {
        double s = m.seq();
        if (attention == AttentionKernel.FLASH) return 4.0 * m.heads() * s * microBatch / tp;
        return 5.0 * m.heads() * s * s * microBatch / tp;
    }
}
