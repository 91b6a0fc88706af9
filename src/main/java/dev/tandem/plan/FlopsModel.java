package dev.tandem.plan;

/**
 * FLOPs of one training step (GEMMs only; element-wise work is counted in time, not in FLOPs).
 * Per sequence and layer the forward is 2s × (the layer's active weight-matrix parameters) plus
 * 4s²h for QKᵀ and ·V; the output layer is 2shV. Active weight matrices: Q and output projection
 * 2h², K and V 2h·kv_dim, the MLP 2hf (GELU) or 3hf (SwiGLU), or in an MoE layer top_k experts'
 * MLPs and the router h·experts. The backward costs twice the forward. Full recompute adds one
 * more forward of every layer, which gives Narayanan et al.'s 96Bslh²(1 + s/6h + V/16lh) for GPT
 * with f = 4h; without recompute it is 72Bslh²(1 + s/6h + V/12lh) ("model FLOPs", used for MFU).
 * Attention is counted in full (causal masking not halved), the convention of the papers.
 */
public final class FlopsModel {
    private FlopsModel() {}

    /** With ParScale, P streams each attending over seq + prefix keys. */
    public static double layerForwardPerSequence(ModelSpec m) {
        double s = m.seq(), h = m.hidden();
        return m.streams() * (2 * s * activeMatrixParamsPerLayer(m) + 4 * s * (s + m.prefix()) * h);
    }

    /** Weight-matrix parameters a token passes through in one layer, averaged over the layers. */
    public static double activeMatrixParamsPerLayer(ModelSpec m) {
        MoeShape moe = m.moe();
        double experts = m.moeFraction() * (moe.topK() * m.mlpMatrixParams() + (double) m.hidden() * moe.experts());
        return m.denseMatrixParamsPerLayer() + experts;
    }

    public static double attentionCorePerSequence(ModelSpec m) {
        double s = m.seq();
        return m.streams() * 4 * s * (s + m.prefix()) * m.hidden();
    }

    /** The output layer, and ParScale's aggregation MLP before it. */
    public static double outputForwardPerSequence(ModelSpec m) {
        return 2.0 * m.seq() * m.hidden() * m.vocab() + 2.0 * m.seq() * m.aggregationParams();
    }

    /** Model FLOPs for a global batch: forward + backward, no recomputation. */
    public static double model(ModelSpec m, double globalBatch) {
        return globalBatch * 3 * (m.layers() * layerForwardPerSequence(m) + outputForwardPerSequence(m));
    }

    /** FLOPs actually executed, recomputation included. */
    public static double hardware(ModelSpec m, double globalBatch, Recompute rc) {
        return hardware(m, globalBatch, rc, AttentionKernel.MATERIALIZED);
    }

    /**
     * FLOPs executed with this attention kernel: selective recompute repeats the materialized
     * attention core; a flash kernel's backward recomputes its scores by design, which the
     * convention (like Megatron-LM's reports) does not count.
     */
    public static double hardware(ModelSpec m, double globalBatch, Recompute rc, AttentionKernel attention) {
        double extra = switch (rc) {
            case NONE -> 0;
            case SELECTIVE -> attention == AttentionKernel.FLASH ? 0 : attentionCorePerSequence(m);
            case FULL -> layerForwardPerSequence(m);
        };
        return model(m, globalBatch) + globalBatch * m.layers() * extra;
    }
}
